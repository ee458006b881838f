"""`inspect(bytes)`: a package's elements, every file decoded with our codecs, and our structural checks.

Files are rebuilt as an eUICC would create them (the descriptor's size, then each fillFileOffset /
fillFileContent), found in our tree by FID path (ADFs by their temporary FID), and decoded with the
tree's codecs. Secrets (K, OPc, PIN/PUK/ADM values, secret files) are masked unless asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from simtool.encoding.codec import DecodeError
from simtool.esim import layout as L
from simtool.esim.saip import Element, PackageError, split
from simtool.fs.access import KEYREF
from simtool.fs.cardmodel import SAIP_PACKAGE, CardModel
from simtool.profile.luhn import luhn_ok

SECRET = "<secret>"
FILE_TYPES = {0x41: "transparent", 0x42: "linear_fixed", 0x46: "cyclic", 0x78: "df"}
NAA_ELEMENTS = {"usim", "isim", "csim"}
NEEDS = {"opt-usim": "usim", "gsm-access": "usim", "df-5gs": "usim", "df-saip": "usim", "phonebook": "usim",
         "opt-isim": "isim", "opt-csim": "csim"}
ONCE = {"header", "mf", "end", "cd", "telecom", "usim", "isim", "csim", "opt-usim", "opt-isim", "opt-csim",
        "df-saip", "df-5gs", "gsm-access"}


@dataclass
class PackageFile:
    """One file the package creates: FID path (temporary ADF FIDs), type, body, and where it came from."""

    fid_path: tuple[int, ...]
    kind: str
    body: bytearray
    record_length: int = 0
    element: int = 0
    source: str = ""
    sized: bool = True  # False: a template file whose size the template gives (the body grows as filled)


@dataclass
class Report:
    elements: list[Element]
    files: dict[tuple[int, ...], PackageFile] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _new_file(fcp: dict[str, Any], parent: tuple[int, ...], el: Element, source: str) -> PackageFile:
    fd = fcp.get("fileDescriptor", b"")
    fid = int.from_bytes(fcp.get("fileID", b"\x00\x00"), "big")
    kind = FILE_TYPES.get(fd[0], f"type {fd[0]:02X}") if fd else "template"
    size = int.from_bytes(fcp.get("efFileSize", b""), "big") if fcp.get("efFileSize") else 0
    rec_len = int.from_bytes(fd[2:4], "big") if len(fd) >= 4 else 0
    pattern = (fcp.get("proprietaryEFInfo") or {}).get("fillPattern") or b"\xff"
    body = bytearray((pattern + b"\xff" * size)[:size]) if kind != "df" else bytearray()
    return PackageFile(parent + (fid,), kind, body, rec_len, el.index, source, sized="efFileSize" in fcp)


def _fill(f: PackageFile, pos: int, data: bytes, el: Element) -> int:
    if not f.sized and pos + len(data) > len(f.body):
        f.body.extend(b"\xff" * (pos + len(data) - len(f.body)))
    if pos + len(data) > len(f.body):
        raise PackageError(f"content runs past the file's {len(f.body)} bytes ({f.source})", index=el.index,
                           offset=el.offset, element=el.kind)
    f.body[pos:pos + len(data)] = data
    return pos + len(data)


def collect_files(elements: list[Element]) -> dict[tuple[int, ...], PackageFile]:
    """Every file the package's template and generic-file-management elements create, by FID path."""
    files: dict[tuple[int, ...], PackageFile] = {}
    dirs: dict[str, tuple[int, ...]] = {}  # template element -> its DF's FID path
    for el in elements:
        v = el.value
        if el.kind == "genericFileManagement":
            for cmds in v["fileManagementCMD"]:
                cwd: tuple[int, ...] = ()
                cur: PackageFile | None = None
                pos = 0
                for op, arg in cmds:
                    if op == "filePath":
                        cwd = tuple(int.from_bytes(arg[i:i + 2], "big") for i in range(0, len(arg), 2))
                    elif op == "createFCP":
                        cur = _new_file(arg, cwd, el, f"element {el.index}")
                        files[cur.fid_path] = cur
                        pos = 0
                    elif cur is None:
                        raise PackageError(f"{op} before any createFCP", index=el.index, offset=el.offset,
                                           element=el.kind)
                    elif op == "fillFileOffset":
                        pos += arg
                    else:
                        pos = _fill(cur, pos, arg, el)
            continue
        if "templateID" not in v:
            continue
        own = next((s for s in L.DF_KINDS.values() if s.element == el.kind), None)
        opt_of = next((s for s in L.DF_KINDS.values() if s.optional == el.kind), None)
        if own is not None and own.field in v:
            fcp: dict[str, Any] = next((a for op, a in v[own.field] if op == "fileDescriptor"), {})
            parent = _parent_dir(el.kind, dirs)
            fid = int.from_bytes(fcp.get("fileID", b""), "big") if fcp.get("fileID") else None
            dirs[el.kind] = parent + ((fid,) if fid is not None and el.kind != "mf" else ())
        elif opt_of is not None:
            dirs[el.kind] = dirs.get(opt_of.element, ())
        base = dirs.get(el.kind, ())
        for name, content in v.items():
            if name in ("templateID",) or name.endswith("-header") or (own and name == own.field):
                continue
            efcp: dict[str, Any] | None = next((a for op, a in content if op == "fileDescriptor"), None)
            if efcp is None or "fileID" not in efcp:
                continue  # a template file left at its default: not one simtool writes
            f = _new_file(efcp, base, el, f"{el.kind}.{name}")
            files[f.fid_path] = f
            pos = 0
            for op, arg in content:
                if op == "fillFileOffset":
                    pos += arg
                elif op == "fillFileContent":
                    pos = _fill(f, pos, arg, el)
    return files


def _parent_dir(element: str, dirs: dict[str, tuple[int, ...]]) -> tuple[int, ...]:
    if element in ("gsm-access", "df-5gs"):
        return dirs.get("usim", ())
    return ()


def model_paths(model: CardModel = SAIP_PACKAGE) -> dict[tuple[int, ...], str]:
    """Our tree's paths by the FID path a package uses (below the MF, ADFs by temporary FID)."""
    out: dict[tuple[int, ...], str] = {}
    kinds: dict[str, str | None] = {}
    for e in model.fs.walk():
        parent = e.path.rsplit("/", 1)[0] if "/" in e.path else None
        fids: list[int] = []
        for i, p in enumerate(e.parents[1:], 1):
            ppath = "/".join(e.path.split("/")[: i + 1])
            k = kinds.get(ppath)
            fids.append(L.DF_KINDS[k].temp_fid or p.fid if k else p.fid)
        if e.path == "MF":
            kinds["MF"] = "mf"
            continue
        if not hasattr(e.node, "codec"):
            k = L.df_kind(e, kinds.get(parent or ""))
            kinds[e.path] = k
            own = L.DF_KINDS[k].temp_fid if k else None
            out[tuple(fids) + (own or e.node.fid,)] = e.path
        else:
            out[tuple(fids) + (e.node.fid,)] = e.path
    return out


def inspect(data: bytes, *, show_secrets: bool = False, model: CardModel = SAIP_PACKAGE) -> dict[str, Any]:
    """The package as a document: elements, files (decoded), the header's values and the problems found.
    Raises PackageError (an InputError, exit 2) for a package that does not decode."""
    elements = split(data)
    files = collect_files(elements)
    paths = model_paths(model)
    problems = check(elements, files, paths, model)
    doc_files: dict[str, Any] = {}
    for fid_path, f in files.items():
        path = paths.get(fid_path)
        entry: dict[str, Any] = {"fid": f"{fid_path[-1]:04X}" if fid_path else "3F00", "structure": f.kind,
                                 "element": f.element}
        if f.kind == "df":
            doc_files[path or _fid_name(fid_path)] = entry
            continue
        ef = model.fs[path].ef if path and path in model.fs and hasattr(model.fs[path].node, "codec") else None
        secret = bool(ef and ef.secret)
        entry["hex"] = SECRET if secret and not show_secrets else bytes(f.body).hex().upper()
        if ef is not None:
            try:
                entry["value"] = _decode(ef, f)
            except DecodeError as e:
                entry["value"] = {"error": str(e)}
            if secret and not show_secrets:
                entry["value"] = SECRET
        doc_files[path or _fid_name(fid_path)] = entry
    header = elements[0].value if elements and elements[0].kind == "header" else {}
    iccid = header.get("iccid", b"").hex().upper().rstrip("F") if header else None
    imsi = doc_files.get("MF/ADF.USIM/EF.IMSI", {}).get("value")
    return {
        "iccid": iccid, "imsi": imsi,
        "version": f"{header.get('major-version')}.{header.get('minor-version')}" if header else None,
        "profile_type": header.get("profileType") if header else None,
        "services": sorted(header.get("eUICC-Mandatory-services", {})) if header else [],
        "templates": list(header.get("eUICC-Mandatory-GFSTEList", [])) if header else [],
        "elements": [_element_doc(e, show_secrets) for e in elements],
        "files": doc_files,
        "problems": problems,
        "size": len(data),
    }


def _fid_name(fid_path: tuple[int, ...]) -> str:
    return "/".join(["3F00", *(f"{x:04X}" for x in fid_path)])


def _decode(ef: Any, f: PackageFile) -> Any:
    codec = ef.codec
    body = bytes(f.body)
    if f.kind in ("linear_fixed", "cyclic"):
        n = f.record_length or 1
        return [codec.to_json(codec.decode(body[i:i + n])) for i in range(0, len(body), n)]
    return codec.to_json(codec.decode(body))


def _element_doc(e: Element, show: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {"index": e.index, "offset": e.offset, "kind": e.kind, "length": len(e.der)}
    v = e.value
    if e.kind == "akaParameter":
        kind, cfg = v["algoConfiguration"]
        if kind == "algoParameter":
            doc["algorithm"] = {1: "milenage", 2: "tuak", 3: "usim-test-algorithm"}.get(cfg["algorithmID"],
                                                                                         cfg["algorithmID"])
            doc["k"] = cfg["key"].hex().upper() if show else SECRET
            doc["opc"] = cfg["opc"].hex().upper() if show else SECRET
        else:
            doc["mapping"] = cfg["mappingSource"].hex().upper()
        doc["sqn_options"] = v.get("sqnOptions", b"\x02").hex().upper()
        doc["sqn_delta"] = v.get("sqnDelta", b"").hex().upper()
        doc["sqn_age_limit"] = v.get("sqnAgeLimit", b"").hex().upper()
    elif e.kind == "pinCodes":
        kind, cfg = v["pinCodes"]
        if kind == "pinconfig":
            doc["pins"] = [{"key_reference": p["keyReference"],
                            "value": p["pinValue"].hex().upper() if show else SECRET,
                            "unblocking": p.get("unblockingPINReference"), "attributes": p.get("pinAttributes"),
                            "max_tries": p["maxNumOfAttemps-retryNumLeft"] >> 4,
                            "tries_left": p["maxNumOfAttemps-retryNumLeft"] & 15} for p in cfg]
        else:
            doc["shared_with"] = cfg.hex().upper()
    elif e.kind == "pukCodes":
        doc["puks"] = [{"key_reference": p["keyReference"], "value": p["pukValue"].hex().upper() if show else SECRET,
                        "max_tries": p["maxNumOfAttemps-retryNumLeft"] >> 4,
                        "tries_left": p["maxNumOfAttemps-retryNumLeft"] & 15} for p in v["pukCodes"]]
    elif "templateID" in v:
        doc["template"] = v["templateID"]
    return doc


def _where(e: Element) -> str:
    return f"element {e.index} ({e.kind}) at offset {e.offset}"


def check(elements: list[Element], files: dict[tuple[int, ...], PackageFile], paths: dict[tuple[int, ...], str],
          model: CardModel) -> list[str]:
    """Our structural checks; each problem names the element and its offset."""
    out: list[str] = []
    kinds = [e.kind for e in elements]
    if kinds[0] != "header":
        out.append(f"{_where(elements[0])}: the first element must be the header")
    if len(kinds) < 2 or kinds[1] != "mf":
        out.append(f"{_where(elements[min(1, len(elements) - 1)])}: the second element must be the MF")
    if kinds[-1] != "end":
        out.append(f"{_where(elements[-1])}: the last element must be the end element (PE-End missing)")
    seen: set[str] = set()
    for e in elements:
        if e.kind in ONCE and e.kind in seen:
            out.append(f"{_where(e)}: a second {e.kind} element")
        need = NEEDS.get(e.kind)
        if need and need not in seen:
            out.append(f"{_where(e)}: {e.kind} needs a {need} element before it")
        if e.kind == "end" and e is not elements[-1]:
            out.append(f"{_where(e)}: elements follow the end element")
        seen.add(e.kind)
    header = elements[0].value if kinds[0] == "header" else {}
    services = set(header.get("eUICC-Mandatory-services", {}))
    for naa in ("usim", "isim", "csim"):
        if (naa in services) != (naa in seen):
            out.append(f"{_where(elements[0])}: header service {naa} "
                       f"{'without' if naa in services else 'missing for'} its element")
    akas = [e for e in elements if e.kind == "akaParameter" and e.value["algoConfiguration"][0] == "algoParameter"]
    # One AKA element per USIM/ISIM, after it and before the next NAA (as the TS.48 profiles have them).
    naa_at = [i for i, k in enumerate(kinds) if k in NAA_ELEMENTS] + [len(kinds)]
    for a, b in zip(naa_at, naa_at[1:], strict=False):
        if kinds[a] == "csim":
            continue
        n = sum(1 for k in kinds[a:b] if k == "akaParameter")
        if n != 1:
            out.append(f"{_where(elements[a])}: {n} AKA elements for this {kinds[a]}, one expected")
    if not akas:
        out.append(f"{_where(elements[0])}: no AKA element with algorithm parameters")
    algo_service = {1: "milenage", 2: "tuak128", 3: "usim-test-algorithm"}
    for e in akas:
        cfg = e.value["algoConfiguration"][1]
        name = algo_service.get(cfg["algorithmID"])
        if name not in services:
            out.append(f"{_where(e)}: algorithm {name} is not among the header's mandatory services")
        if cfg["algorithmID"] in (1, 2) and (len(cfg["key"]) not in (16, 32) or len(cfg["opc"]) not in (16, 32)):
            out.append(f"{_where(e)}: K and OPc must be 16 or 32 bytes")
    iccid = header.get("iccid", b"").hex().upper().rstrip("F")
    if header and not (iccid.isdigit() and luhn_ok(iccid)):
        out.append(f"{_where(elements[0])}: ICCID {iccid} fails the Luhn check")
    out += _check_pins(elements, files, paths, model)
    return out


def _check_pins(elements: list[Element], files: dict[tuple[int, ...], PackageFile],
                paths: dict[tuple[int, ...], str], model: CardModel) -> list[str]:
    """Every key reference an EF.ARR rule names has a PIN; every PIN's PUK reference has a PUK."""
    pins: set[int] = set()
    puks: set[int] = set()
    unblock: list[tuple[Element, int]] = []
    for e in elements:
        if e.kind == "pinCodes" and e.value["pinCodes"][0] == "pinconfig":
            for p in e.value["pinCodes"][1]:
                pins.add(p["keyReference"])
                if p.get("unblockingPINReference") is not None:
                    unblock.append((e, p["unblockingPINReference"]))
        elif e.kind == "pukCodes":
            puks |= {p["keyReference"] for p in e.value["pukCodes"]}
    out = [f"{_where(e)}: PIN unblocked by PUK {ref}, which no pukCodes element defines"
           for e, ref in unblock if ref not in puks]
    names = {c.value: ref for c, ref in KEYREF.items()}
    needed: dict[int, str] = {}
    for fid_path, f in files.items():
        path = paths.get(fid_path, "")
        if not path.endswith("EF.ARR") or not f.record_length:
            continue
        codec = model.fs[path].ef.codec
        for i in range(0, len(f.body), f.record_length):
            try:
                rule = codec.decode(bytes(f.body[i:i + f.record_length]))
            except DecodeError:
                continue
            for conds in (rule or {}).values():
                for c in conds:
                    if c in names:
                        needed.setdefault(names[c], f"{path} record {i // f.record_length + 1}")
    owner = {f.fid_path: f.element for f in files.values()}
    for ref, where in sorted(needed.items()):
        if ref not in pins:
            el = elements[owner.get(next(k for k, v in paths.items() if where.startswith(v)), 0)]
            out.append(f"{_where(el)}: {where} needs key reference {ref:02X}, which no pinCodes element defines")
    return out
