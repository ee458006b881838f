"""The file-system model compiled once per card model for the command processor's hot path.

Every FID, SFI, size and access set comes from `simtool.fs`; this module only indexes them (children by
FID, EFs by SFI) and builds the FCP templates (TS 102 221 §11.1.1.3) ahead of time, so a SELECT or READ
costs a few dict lookups and no tree walk.
"""

from __future__ import annotations

from simtool.encoding.tlv import tlv
from simtool.fs import DF, EF, CardModel, Cond
from simtool.fs.access import KEYREF

FDB = {"transparent": 0x41, "linear_fixed": 0x42, "cyclic": 0x46}
DATA_CODING = 0x21  # TS 102 221 §11.1.1.4.3: proprietary data coding byte all cards give
LCSI_OPERATIONAL = 0x05  # operational state, activated
UICC_CHARACTERISTICS = 0x71  # clock stop allowed, 3 V / 1.8 V classes
PIN_STATUS_KEYS = (Cond.PIN1, Cond.PIN2, Cond.ADM1)  # order of the C6 template and its bitmap


class Node:
    """One file in place. DFs index their children; EFs carry access sets and their FCP."""

    __slots__ = (
        "adf_arr", "aid", "children", "ef", "fcp", "fid", "is_adf", "is_df", "is_record", "name", "parent",
        "path", "read", "read_never", "rec_count", "rec_len", "role", "sfis", "size", "structure", "update",
        "update_never", "dfs", "fcp_head", "total_size",
    )

    def __init__(self, path: str, node: EF | DF, parent: Node | None) -> None:
        self.path = path
        self.name = node.name
        self.fid = node.fid
        self.parent = parent
        self.is_df = isinstance(node, DF)
        self.is_adf = self.is_df and node.aid is not None  # type: ignore[union-attr]
        self.aid: bytes | None = node.aid if isinstance(node, DF) else None
        self.children: dict[int, Node] = {}  # by FID, ADFs excluded (reached by AID or 7FFF)
        self.dfs: dict[int, Node] = {}
        self.sfis: dict[int, Node] = {}
        self.ef: EF | None = node if isinstance(node, EF) else None
        self.fcp = b""
        self.fcp_head = b""
        self.total_size = 0
        self.adf_arr: int | None = None
        if isinstance(node, EF):
            self.structure: str = node.structure
            self.is_record = node.is_record
            self.size = node.body_size
            self.rec_len = node.record_length
            self.rec_count = node.record_count
            self.read = node.read
            self.update = node.update
            self.read_never = Cond.NEVER in node.read
            self.update_never = Cond.NEVER in node.update
            self.role = node.role
        else:
            self.structure = "df"
            self.is_record = False
            self.size = self.rec_len = self.rec_count = 0
            self.read = self.update = frozenset()
            self.read_never = self.update_never = True
            self.role = ""

    def __repr__(self) -> str:
        return f"<Node {self.path} {self.fid:04X}>"


def _size(n: int) -> bytes:
    return n.to_bytes(2 if n < 0x10000 else 4, "big")


class Layout:
    """The compiled tree of one card model."""

    def __init__(self, model: CardModel, absent: frozenset[str] = frozenset()) -> None:
        self.model = model
        fs = model.fs
        self.nodes: dict[str, Node] = {}
        self.adfs: list[Node] = []
        for entry in fs.walk():
            if entry.path in absent or any(entry.path.startswith(a + "/") for a in absent):
                continue  # a file this card was made without: SELECT answers 6A82
            parent = self.nodes[entry.path.rsplit("/", 1)[0]] if entry.parents else None
            node = Node(entry.path, entry.node, parent)
            self.nodes[entry.path] = node
            if parent is None:
                continue
            if node.is_adf:
                self.adfs.append(node)
                continue
            parent.children[node.fid] = node
            if node.is_df:
                parent.dfs[node.fid] = node
            elif entry.ef.sfi is not None:
                parent.sfis[entry.ef.sfi] = node
        self.mf = self.nodes[fs.root.name]
        # Each ADF's service table, found by name, for AUTHENTICATE's service checks.
        self.ust: dict[str, Node] = {}
        for adf in self.adfs:
            for child in adf.children.values():
                if child.name == "EF.UST" and not child.is_df:
                    self.ust[adf.path] = child
        self._build_fcps()
        self._df_fcp_cache: dict[tuple[int, int], bytes] = {}

    def arr_fid(self, node: Node) -> int:
        """The EF.ARR an EF's 8B refers to: its ADF's own EF.ARR, otherwise the MF's."""
        p = node.parent
        while p is not None:
            if p.is_adf or p is self.mf:
                arr = next((c for c in p.children.values() if c.name == "EF.ARR" and not c.is_df), None)
                if arr is not None:
                    return arr.fid
            p = p.parent
        raise ValueError(f"no EF.ARR above {node.path}")

    def _build_fcps(self) -> None:
        fs = self.model.fs
        for node in self.nodes.values():
            if node.is_df:
                continue
            ef = node.ef
            assert ef is not None
            fd = bytes([FDB[ef.structure], DATA_CODING])
            if ef.is_record:
                fd += ef.record_length.to_bytes(2, "big") + bytes([ef.record_count])
            body = (
                tlv(0x82, fd)
                + tlv(0x83, ef.fid.to_bytes(2, "big"))
                + tlv(0x8A, bytes([LCSI_OPERATIONAL]))
                + tlv(0x8B, self.arr_fid(node).to_bytes(2, "big") + bytes([fs.arr_record(ef)]))
                + tlv(0x80, _size(ef.body_size))
                + tlv(0x88, bytes([ef.sfi << 3]) if ef.sfi is not None else b"")
            )
            node.fcp = tlv(0x62, body)
        for node in self.nodes.values():
            if not node.is_df:
                continue
            node.total_size = sum(n.size for p, n in self.nodes.items() if p.startswith(node.path + "/"))
            head = tlv(0x82, bytes([0x78, DATA_CODING])) + tlv(0x83, node.fid.to_bytes(2, "big"))
            if node.aid is not None:
                head += tlv(0x84, node.aid)
            if node.is_adf or node is self.mf:
                head += tlv(0xA5, tlv(0x80, bytes([UICC_CHARACTERISTICS])))
            # DFs have no rule in the model's EF.ARR: compact form, no access mode (as real ADFs give).
            head += tlv(0x8A, bytes([LCSI_OPERATIONAL])) + tlv(0x8C, b"\x00")
            node.fcp_head = head

    def df_fcp(self, node: Node, pin_bitmap: int) -> bytes:
        """FCP of a DF/ADF/MF; the PIN status template (C6) depends on which PINs are enabled."""
        key = (id(node), pin_bitmap)
        fcp = self._df_fcp_cache.get(key)
        if fcp is None:
            c6 = tlv(0x90, bytes([pin_bitmap])) + b"".join(tlv(0x83, bytes([KEYREF[c]])) for c in PIN_STATUS_KEYS)
            fcp = tlv(0x62, node.fcp_head + tlv(0xC6, c6) + tlv(0x81, _size(node.total_size)))
            self._df_fcp_cache[key] = fcp
        return fcp

    def adf_by_aid(self, partial: bytes) -> list[Node]:
        """ADFs whose AID starts with `partial` (right-truncated AID selection), in model order."""
        return [n for n in self.adfs if n.aid is not None and n.aid.startswith(partial)]


_LAYOUTS: dict[tuple[int, frozenset[str]], tuple[CardModel, Layout]] = {}


def layout_for(model: CardModel, absent: frozenset[str] = frozenset()) -> Layout:
    """The compiled layout of `model` without the `absent` files, built once per model and file set."""
    hit = _LAYOUTS.get((id(model), absent))
    if hit is not None and hit[0] is model:
        return hit[1]
    layout = Layout(model, absent)
    _LAYOUTS[(id(model), absent)] = (model, layout)
    return layout
