"""The network side (issue 15): how a batch reaches the operator's HLR/HSS.

`cards.py` reads a batch's cards in the clear (an export, MAC and KCV checked first; or a batch directory);
`formats.py` writes them in the formats the network side reads (`batch decrypt --format`); `osmohlr.py`
holds osmo-hlr's VTY commands, its `show` parser and the one rule for what a load changes; `vty.py` is the
VTY client (sans-I/O stream + socket); `load.py` runs `hlr load`. Sits between `batch` and `cli`.
"""
