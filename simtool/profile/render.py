"""`render(profile, identity)`: the card image, every file the profile and identity define, as bytes.

Deterministic (same input, same bytes) and padded to the sizes of the card model in use, so the
flasher can write it and the reader can compare with it byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from simtool.encoding.codec import DecodeError
from simtool.encoding.efs import CB_LANGUAGES
from simtool.encoding.services import sst_from_ust
from simtool.encoding.types import EncodeError
from simtool.errors import InputError
from simtool.fs.cardmodel import DEFAULT_MODEL, MODELS, CardModel
from simtool.fs.model import EF
from simtool.profile import suci as suci_rules
from simtool.profile.capacity import capacities_for_model
from simtool.profile.fit import FITTABLE, Fitted, fit_list
from simtool.profile.ims import identities

if TYPE_CHECKING:
    from simtool.profile.identity import Identity
    from simtool.profile.schema import Profile

Content = bytes | list[bytes]
SECRET = "<secret>"
# A file the profile leaves out (no SPN): rendered erased (FF), so that reprogramming a card clears what
# an earlier profile put there instead of leaving it behind.
ERASED = object()
# A file written with the content it is created with (TS 31.102 Annex E): key-lifetime values, keys "not
# available", so that a reprogrammed card keeps nothing of its earlier life's keys.
INITIAL = object()

# Blank values of the location files a personalised card starts with (TS 31.102 §4.2.17/23/91).
BLANK_LOCI = {"tmsi": b"\xff" * 4, "plmn": None, "lac": b"\x00\x00", "status": "not_updated"}
BLANK_PSLOCI = {"ptmsi": b"\xff" * 4, "ptmsi_signature": b"\xff" * 3, "plmn": None, "lac": b"\x00\x00",
                "rac": 255, "status": "not_updated"}
# EF.LOCIGPRS (TS 51.011 §10.3.33) is coded as EF.PSLOCI.
BLANK_LOCIGPRS = BLANK_PSLOCI
BLANK_EPSLOCI = {"guti": b"\xff" * 12, "tai_plmn": None, "tac": b"\x00\x00", "status": "not_updated"}
BLANK_KEYS = {"ksi": 7, "ck": b"\xff" * 16, "ik": b"\xff" * 16}
PLAN_NOT_ACTIVATED = {"state": "inactive", "activated": None, "activation_plmn": None, "expires": None,
                      "extra_days": 0, "last_seen": None}
SMS_VALIDITY_24H = 0xA7  # TS 23.040 §9.2.3.12.1 relative format: 12 h + (167-143) × 30 min


@dataclass
class CardImage:
    """Files by path ("MF/ADF.USIM/EF.IMSI"): bytes for transparent EFs, one bytes per record."""

    model: CardModel
    files: dict[str, Content] = field(default_factory=dict)
    fitted: list[Fitted] = field(default_factory=list)  # lists cut to the model's files (profile `fit:`)

    def ef(self, path: str) -> EF:
        return self.model.fs[path].ef

    def decode(self, path: str) -> Any:
        ef = self.ef(path)
        content = self.files[path]
        if isinstance(content, list):
            return [ef.codec.decode(r) for r in content]
        return ef.codec.decode(content)

    def decoded(self, show_secrets: bool = False) -> dict[str, Any]:
        """Every file decoded, as its codec's JSON view (bytes as hex): what `profile render --json` prints."""
        out: dict[str, Any] = {}
        for path in self.files:
            ef = self.ef(path)
            try:
                value = self.decode(path)
                value = ([ef.codec.to_json(r) for r in value] if ef.is_record else ef.codec.to_json(value))
            except DecodeError as e:
                value = {"error": str(e)}
            if ef.secret and not show_secrets:
                value = _mask(value)
            entry = {"fid": f"{ef.fid:04X}", "structure": ef.structure}
            entry["value"] = value
            out[path] = entry
        return out

    def hex_lines(self, show_secrets: bool = False) -> list[str]:
        lines = []
        for path, content in self.files.items():
            ef = self.ef(path)
            records = content if isinstance(content, list) else [content]
            for i, rec in enumerate(records, 1):
                h = rec.hex().upper() if show_secrets or not ef.secret else SECRET
                suffix = f"#{i}" if isinstance(content, list) else ""
                lines.append(f"{path}{suffix} {h}")
        return lines


def _mask(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (v if isinstance(v, bool) or k == "algorithm" else SECRET) for k, v in value.items()}
    return SECRET


def _plmn(p: Any) -> dict[str, str]:
    return {"mcc": p.mcc, "mnc": p.mnc}


# Profile access-technology names onto EF.xPLMNwAcT's (TS 31.102 §4.2.5): `eutran` asks for both E-UTRAN
# WB-S1 and NB-S1 (b7 alone, table 4.2.5.1); every other name is the codec's own. `gsm` is GSM without
# EC-GSM-IoT (table 4.2.5.2: 1-01), what the shipped profiles mean for handsets.
PROFILE_ACT = {"eutran": ("eutran_wb", "eutran_nb")}


def act_names(names: Any) -> list[str]:
    out: list[str] = []
    for name in names:
        out += PROFILE_ACT.get(name, (name,))
    return list(dict.fromkeys(out))


def _plmn_act(p: Any) -> dict[str, Any]:
    return {"mcc": p.mcc, "mnc": p.mnc, "act": act_names(p.act)}


def acc_for_imsi(imsi: str) -> list[int]:
    """Access class from the last IMSI digit (TS 22.011: classes 0..9 are allocated at random)."""
    return [int(imsi[-1])]


def file_values(profile: Profile, identity: Identity) -> dict[str, Any]:
    """Every file's decoded value, keyed by path; `render` encodes these with the model's sizes."""
    home = _plmn(profile.home_plmn)
    ad = {"ue_operation_mode": profile.ue_operation_mode, "ciphering_indicator": False,
          "mnc_length": len(profile.home_plmn.mnc)}
    spn = ({"show_in_hplmn": profile.spn.show_in_hplmn, "hide_in_oplmn": profile.spn.hide_in_oplmn,
            "name": profile.spn.name} if profile.spn else None)
    acc = acc_for_imsi(identity.imsi)
    msisdn = [{"alpha": "", "number": identity.msisdn}] if identity.msisdn else []
    smsp = [{"alpha": "", "tp_destination": None, "sc_address": profile.smsc, "pid": 0, "dcs": 0,
             "validity": SMS_VALIDITY_24H}] if profile.smsc else []
    ecc = [{"number": e.number, "alpha": "", "categories": list(e.categories)} for e in profile.emergency_numbers]
    est = ["acl"] if profile.apn_control_list and profile.apn_control_list.enforce else []
    acl = list(profile.apn_control_list.apns) if profile.apn_control_list else []
    plan = profile.plan
    usim = "MF/ADF.USIM"
    return {
        "MF/EF.ICCID": identity.iccid,
        "MF/EF.PL": list(profile.languages),
        "MF/DF.TELECOM/EF.MSISDN": msisdn,
        "MF/DF.TELECOM/EF.SMSP": smsp,
        "MF/DF.GSM/EF.LP": [lang for lang in profile.languages if lang in CB_LANGUAGES],
        "MF/DF.GSM/EF.IMSI": identity.imsi,
        "MF/DF.GSM/EF.SPN": spn if spn else ERASED,
        f"{usim}/EF.SPN": spn if spn else ERASED,
        "MF/DF.GSM/EF.ACC": acc,
        "MF/DF.GSM/EF.AD": ad,
        "MF/DF.GSM/EF.ECC": [e.number for e in profile.emergency_numbers],
        f"{usim}/EF.LI": list(profile.languages),
        f"{usim}/EF.IMSI": identity.imsi,
        f"{usim}/EF.KEYS": BLANK_KEYS,
        f"{usim}/EF.KEYSPS": BLANK_KEYS,
        f"{usim}/EF.PLMNwAcT": [],
        f"{usim}/EF.HPPLMN": profile.hpplmn_search_minutes,
        f"{usim}/EF.UST": list(profile.services),
        f"{usim}/EF.MSISDN": msisdn,
        f"{usim}/EF.SMSP": smsp,
        f"{usim}/EF.EST": est,
        f"{usim}/EF.ACL": acl,
        f"{usim}/EF.OPLMNwACT": [_plmn_act(p) for p in profile.oplmn_wact],
        f"{usim}/EF.HPLMNwAcT": [_plmn_act(p) for p in profile.hplmn_wact],
        f"{usim}/EF.PSLOCI": BLANK_PSLOCI,
        f"{usim}/EF.ACC": acc,
        f"{usim}/EF.FPLMN": [_plmn(p) for p in profile.fplmn],
        f"{usim}/EF.LOCI": BLANK_LOCI,
        f"{usim}/EF.AD": ad,
        f"{usim}/EF.ECC": ecc,
        f"{usim}/EF.EHPLMN": [_plmn(p) for p in profile.ehplmn] or [home],
        f"{usim}/EF.EPSLOCI": BLANK_EPSLOCI,
        f"{usim}/EF.START-HFN": INITIAL,
        f"{usim}/EF.THRESHOLD": INITIAL,
        f"{usim}/EF.EPSNSC": INITIAL,
        f"{usim}/DF.GSM-ACCESS/EF.Kc": INITIAL,
        f"{usim}/DF.GSM-ACCESS/EF.KcGPRS": INITIAL,
        **_df_5gs(profile),
        "MF/DF.PLAN/EF.PLAN_DEF": {
            "plan_id": plan.id,
            "data_limit_bytes": plan.data_limit_bytes,
            "validity_days": plan.validity_days,
            "price": {"amount_minor": plan.price.amount_minor, "currency": plan.price.currency},
            "names": dict(plan.names),
            **({"topup_url": plan.topup_url} if plan.topup_url else {}),
        },
        # The plan applet's state as sold: the whole allowance left, not yet activated (applet_spec/).
        "MF/DF.PLAN/EF.BALANCE": {"remaining_bytes": plan.data_limit_bytes, "total_bytes": plan.data_limit_bytes},
        "MF/DF.PLAN/EF.VALIDITY": PLAN_NOT_ACTIVATED,
        # OTA keys when the identity carries them (with a fresh counter); erased otherwise, so that a
        # reprogrammed card keeps no key set of an earlier life.
        **({"MF/DF.PLAN/EF.OTA_KEYS": identity.ota_keys.card_file_value(), "MF/DF.PLAN/EF.OTA_CNTR": 0}
           if identity.ota_keys is not None else {"MF/DF.PLAN/EF.OTA_KEYS": ERASED}),
    }


# --- DF.GSM as the classic SIM tools read it (TS 51.011 §10.3) -----------------------------------------------
# Rendered from the USIM values after fitting, so the 2G copies say what the USIM says, in the same sizes.
_GSM_COPIES = ("EF.PLMNwAcT", "EF.HPPLMN", "EF.HPLMNwAcT", "EF.FPLMN")


def gsm_copies(values: dict[str, Any]) -> dict[str, Any]:
    """DF.GSM's files from the (fitted) ADF.USIM values: SST in step with the UST, the PLMN lists, blank
    location and keys as created."""
    usim, gsm = "MF/ADF.USIM", "MF/DF.GSM"
    oplmn = values[f"{usim}/EF.OPLMNwACT"]
    return {
        **{f"{gsm}/{name}": values[f"{usim}/{name}"] for name in _GSM_COPIES},
        f"{gsm}/EF.OPLMNwAcT": oplmn,
        # A phase 2 handset knows no access technologies: the operator's list without them.
        f"{gsm}/EF.PLMNsel": [{"mcc": p["mcc"], "mnc": p["mnc"]} for p in oplmn],
        f"{gsm}/EF.SST": sst_from_ust(values[f"{usim}/EF.UST"]),
        f"{gsm}/EF.LOCI": BLANK_LOCI,
        f"{gsm}/EF.LOCIGPRS": BLANK_LOCIGPRS,
        f"{gsm}/EF.Kc": INITIAL,
        f"{gsm}/EF.KcGPRS": INITIAL,
        f"{gsm}/EF.Phase": "phase2_plus",  # phase 2, profile download required: the card speaks SAT
    }


def _df_5gs(profile: Profile) -> dict[str, Any]:
    """DF.5GS: location and security contexts as created (no 5G-GUTI, no keys), no MPS/MCS access
    identities, no 5GS operator PLMN list, and the `suci` section (erased without one)."""
    g = "MF/ADF.USIM/DF.5GS"
    s = profile.suci
    return {
        f"{g}/EF.5GS3GPPLOCI": INITIAL,
        f"{g}/EF.5GSN3GPPLOCI": INITIAL,
        f"{g}/EF.5GS3GPPNSC": INITIAL,
        f"{g}/EF.5GSN3GPPNSC": INITIAL,
        f"{g}/EF.5GAUTHKEYS": INITIAL,
        f"{g}/EF.UAC_AIC": {"multimedia_priority_service": False, "mission_critical_service": False},
        f"{g}/EF.SUCI_Calc_Info": suci_rules.calc_info(s) if s else ERASED,
        f"{g}/EF.OPL5G": [],
        f"{g}/EF.Routing_Indicator": {"routing_indicator": s.routing_indicator} if s else ERASED,
    }


def isim_values(profile: Profile, identity: Identity, model: CardModel) -> dict[str, Any]:
    """ADF.ISIM's files when the profile has an `ims` section (else none: the ISIM keeps what it has).
    Raises ValueError when an identity template needs what this card's identity lacks."""
    if profile.ims is None:
        return {}
    isim = "MF/ADF.ISIM"
    ims = identities(profile.ims.model_dump(), profile.home_plmn.mcc, profile.home_plmn.mnc, identity.imsi,
                     identity.msisdn)
    ad: dict[str, Any] = {"ue_operation_mode": profile.ue_operation_mode, "ciphering_indicator": False}
    if isim + "/EF.AD" in model.fs and model.fs[isim + "/EF.AD"].ef.size >= 4:
        ad["mnc_length"] = len(profile.home_plmn.mnc)
    return {
        f"{isim}/EF.IMPI": ims["impi"],
        f"{isim}/EF.DOMAIN": ims["domain"],
        f"{isim}/EF.IMPU": ims["impu"],
        f"{isim}/EF.AD": ad,
        f"{isim}/EF.IST": list(profile.ims.services),
        f"{isim}/EF.P-CSCF": ims["pcscf"],
    }


def render(profile: Profile, identity: Identity, model: CardModel | str | None = None) -> CardImage:
    """Encode every file for `model` (our emulated card's by default). Raises InputError on misfit."""
    if isinstance(model, str):
        model = MODELS[model]
    model = model or DEFAULT_MODEL
    fs = model.fs
    image = CardImage(model)
    errors = []
    values = file_values(profile, identity)
    try:
        values.update(isim_values(profile, identity, model))
    except ValueError as e:
        raise InputError(f"MF/ADF.ISIM: {e} (card {identity.iccid})") from None
    # K/OPc and the PINs: in the files, and the coding, of this card family (its secret layout).
    pins = {"pin1": identity.pin1, "puk1": identity.puk1, "pin2": identity.pin2, "puk2": identity.puk2}
    values.update(model.secrets.secret_files(identity.ki, identity.opc, "milenage", pins,
                                             pin1_enabled=profile.pin1_enabled, pin2_enabled=True))
    caps = capacities_for_model(model)
    for name, (_, ef_name, _) in FITTABLE.items():
        path = f"MF/ADF.USIM/{ef_name}"
        if path in values:
            values[path], cut = fit_list(name, values[path], getattr(profile.fit, name), caps)
            if cut is not None:
                image.fitted.append(cut)
    values.update(gsm_copies(values))
    for key, value in values.items():
        entry = fs[key]
        ef = entry.ef
        try:
            if value is INITIAL:
                image.files[entry.path] = ef.initial_content()
            elif value is ERASED:
                image.files[entry.path] = ([b"\xff" * ef.record_length] * ef.record_count if ef.is_record
                                           else b"\xff" * ef.size)
            elif ef.is_record:
                if len(value) > ef.record_count:
                    raise EncodeError(f"{len(value)} records, the file holds {ef.record_count}")
                recs = [ef.codec.encode(v, ef.record_length) for v in value]
                recs += [b"\xff" * ef.record_length] * (ef.record_count - len(recs))
                image.files[entry.path] = recs
            else:
                image.files[entry.path] = ef.codec.encode(value, ef.size)
        except EncodeError as e:
            errors.append(f"{entry.path}: {e} (card model {model.name})")
    if errors:
        raise InputError(errors)
    order = {e.path: i for i, e in enumerate(fs.efs())}
    image.files = dict(sorted(image.files.items(), key=lambda kv: order[kv[0]]))
    return image
