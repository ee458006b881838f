"""The file-system model: declared once (`tree`), sized per card family (`cardmodel`), read by all."""

from simtool.fs.access import ADM, ALW, NEVER, PIN2_OR_ADM, PIN_OR_ADM, AccessSet, Cond, allows, any_of
from simtool.fs.cardmodel import DEFAULT_MODEL, MODELS, CardModel, model_for_atr
from simtool.fs.model import DF, EF, Entry, FileSystem

__all__ = [
    "ADM", "ALW", "NEVER", "PIN2_OR_ADM", "PIN_OR_ADM", "AccessSet", "Cond", "allows", "any_of",
    "DEFAULT_MODEL", "MODELS", "CardModel", "model_for_atr", "DF", "EF", "Entry", "FileSystem",
]
