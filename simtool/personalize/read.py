"""Read every file the given rights allow and decode it with the model's codecs."""

from __future__ import annotations

from typing import Any

from simtool.commands import uicc
from simtool.encoding.codec import DecodeError
from simtool.encoding.sizes import format_bytes
from simtool.fs.access import Cond, names
from simtool.fs.cardmodel import CardModel
from simtool.personalize import plan
from simtool.personalize.flash import detect_model, read_file, verify_adm
from simtool.transport.base import Reader


def read_card(reader: Reader, *, pin1: str | None = None, adm: bytes | None = None,
              model: CardModel | None = None, min_adm_tries: int = 3) -> dict[str, Any]:
    """{path: {"name", "fid", "value"}} for every EF readable with the rights given; files that the
    rights do not open are listed with `"readable": false`, files of the model the card does not hold
    (a card made with an older tree) with `"present": false`. Key and PIN files are never read."""
    model = detect_model(reader, model)
    reader.set_phase("read")
    held: set[Cond] = set()
    if adm is not None:
        verify_adm(reader, adm, min_adm_tries)
        held.add(Cond.ADM1)
        reader.set_phase("read")
    if pin1 is not None:
        resp = reader.send(uicc.verify_pin(uicc.PIN1, uicc.pin_bytes(pin1)))
        if resp.sw != 0x9000:
            left = uicc.parse_retry_counter(resp.sw)
            from simtool.errors import CardError

            raise CardError(f"{reader.name}: PIN1 refused" + (f"; {left} tries left" if left is not None else
                                                                  f" (SW {resp.sw:04X})"))
        held.add(Cond.PIN1)
    files: dict[str, Any] = {}
    current = None
    absent_df = None  # a DF of the model the card does not hold: its files are absent too
    for entry in model.fs.efs():
        ef = entry.ef
        if ef.secret:
            continue
        item: dict[str, Any] = {"name": ef.name, "fid": f"{ef.fid:04X}"}
        if entry.df_path != current:
            current = entry.df_path
            resp = reader.send(plan.df_select(model.fs, entry.df_path))
            absent_df = entry.df_path if resp.sw == 0x6A82 else None
            if absent_df is None:
                resp.check(f"SELECT {entry.df_path}")
        if absent_df is not None:
            files[entry.path] = {**item, "present": False}
            continue
        if ef.sfi is None:
            resp = reader.send(uicc.select_fid(ef.fid))
            if resp.sw == 0x6A82:  # a file the card was made without (an older tree than the model's)
                files[entry.path] = {**item, "present": False}
                continue
            resp.check(f"SELECT {entry.path}")
        probe = reader.send(uicc.read_record(1, ef.record_length, sfi=ef.sfi) if ef.is_record
                            else uicc.read_binary(0, min(ef.size, 256), sfi=ef.sfi))
        if probe.sw == 0x6A82:
            files[entry.path] = {**item, "present": False}
            continue
        if probe.sw == 0x6982:
            item["readable"] = False
            item["needs"] = names(ef.read)
            files[entry.path] = item
            continue
        probe.check(f"READ {entry.path}")
        raw = _rest_of_file(reader, model, entry.path, probe.data)
        try:
            # The codec's JSON view (bytes as hex): this document is what `read --json` prints.
            item["value"] = ([ef.codec.to_json(ef.codec.decode(r)) for r in raw] if isinstance(raw, list)
                             else ef.codec.to_json(ef.codec.decode(raw)))
        except DecodeError as e:
            item["value"] = None
            item["error"] = str(e)
            item["hex"] = raw.hex() if isinstance(raw, bytes) else [r.hex() for r in raw]
        files[entry.path] = item
    return {"reader": reader.name, "model": model.name, "atr": reader.atr.hex().upper(),
            "summary": summary(files), "files": files}


def _rest_of_file(reader: Reader, model: CardModel, path: str, first: bytes) -> bytes | list[bytes]:
    """The whole file, given what the probe already read (record 1, or the first chunk): no APDU twice."""
    ef = model.fs[path].ef
    if ef.is_record:
        recs = [first]
        for i in range(2, ef.record_count + 1):
            recs.append(reader.send(uicc.read_record(i, ef.record_length, sfi=ef.sfi)).check("READ RECORD").data)
        return recs
    if len(first) >= ef.size:
        return first[: ef.size]
    return read_file(reader, model, path)


CURRENCY_EXPONENT = {"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0, "BHD": 3, "KWD": 3, "OMR": 3,
                     "JOD": 3, "TND": 3, "IQD": 3, "LYD": 3}


def format_price(amount_minor: int, currency: str) -> str:
    exp = CURRENCY_EXPONENT.get(currency, 2)
    return f"{currency} {amount_minor / 10**exp:.{exp}f}"


def summary(files: dict[str, Any]) -> dict[str, Any]:
    """The values a person checks first, from a `read_card` document's files."""

    def value(path: str) -> Any:
        return files.get(path, {}).get("value")

    out: dict[str, Any] = {
        "iccid": value("MF/EF.ICCID"),
        "imsi": value("MF/ADF.USIM/EF.IMSI"),
        "spn": (value("MF/ADF.USIM/EF.SPN") or {}).get("name"),
        "apns": value("MF/ADF.USIM/EF.ACL"),
        "oplmn": [f"{p['mcc']}/{p['mnc']}" for p in value("MF/ADF.USIM/EF.OPLMNwACT") or [] if p],
    }
    plan = value("MF/DF.PLAN/EF.PLAN_DEF")
    if plan:
        out["plan"] = {"id": plan["plan_id"], "data": format_bytes(plan["data_limit_bytes"]),
                       "validity_days": plan["validity_days"],
                       "price": format_price(plan["price"]["amount_minor"], plan["price"]["currency"]),
                       "names": plan["names"]}
    return out
