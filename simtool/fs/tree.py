"""The one declaration of the card's file system: MF, DF.TELECOM, DF.GSM, ADF.USIM, ADF.ISIM and the plan DF.

FIDs and SFIs from TS 102 221 §13, TS 31.102 §4.2, TS 31.103 §4.2 and TS 51.011 §10 (specfacts §3, §14); sizes are our
emulated card's (a card model may resize files). Access sets follow TS 31.102 where it gives them,
with ADM1 added to every read set so the flasher can read back under ADM (DESIGN.md §5).
"""

from __future__ import annotations

from simtool.encoding import efs as C
from simtool.encoding import efs_5gs as F5
from simtool.encoding import efs_gsm as G
from simtool.encoding import efs_isim as I
from simtool.encoding import efs_usim_extra as X
from simtool.encoding.codec import Codec
from simtool.fs.access import ADM, ALW, NEVER, PIN2_OR_ADM, PIN_OR_ADM, AccessSet
from simtool.fs.model import DF, EF

USIM_AID = bytes.fromhex("A0000000871002FFFFFFFF8907090000")
# TS 31.103: RID A000000087 + application code 1004; the rest (country FFFF, provider FFFF, 89 07 09 00 00)
# as on the USIM, which is how sysmocom's cards carry it (a sysmoISIM-SJA2's EF.DIR, specfacts §14).
ISIM_AID = bytes.fromhex("A0000000871004FFFFFFFF8907090000")
PLAN_DF_FID = 0x7F4A  # '7F4X': administrative range of TS 102 221 §8.6, used by no standard DF


def lf(name: str, fid: int, codec: Codec, rec_len: int, count: int, *, read: AccessSet, update: AccessSet,
       sfi: int | None = None, initial: bytes = b"", description: str = "") -> EF:
    return EF(name, fid, codec, read, update, structure="linear_fixed", record_length=rec_len, record_count=count,
              sfi=sfi, initial=initial, description=description)


# DF.GSM-ACCESS (TS 31.102 §4.4.3): the 2G ciphering keys, present when UST service 27 is available.
GSM_ACCESS = DF(
    "DF.GSM-ACCESS",
    0x5F3B,
    description="files for GSM access (TS 31.102 §4.4.3, UST service 27)",
    children=(
        EF("EF.Kc", 0x4F20, X.KC, PIN_OR_ADM, PIN_OR_ADM, size=9, sfi=0x01, initial=X.KC.vectors[0].data,
           description="GSM ciphering key Kc and its sequence number"),
        EF("EF.KcGPRS", 0x4F52, X.KC, PIN_OR_ADM, PIN_OR_ADM, size=9, sfi=0x02, initial=X.KC.vectors[0].data,
           description="GPRS ciphering key and its sequence number"),
    ),
)

# DF.5GS (TS 31.102 §4.4.11, 5FC0 under ADF.USIM): the 5G files, each turned on by its UST service
# (conformance.SERVICE_FILES). SFIs are the FIDs' low byte. Sizes are a sysmoISIM-SJA2's (pySim's card-sanitizer
# backup of one), but the NSC records (57, the spec's minimum here; 64 on that card) and SUCI_Calc_Info (128 here,
# room for a profile B key uncompressed beside a profile A key; 100 on that card). EF.SUPI_NAI (4F09, service
# 130) is not declared: the SUPI is the IMSI, and with 130 on EF.IMSI would have to go.
DF_5GS = DF(
    "DF.5GS",
    0x5FC0,
    description="5GS files (TS 31.102 §4.4.11)",
    children=(
        EF("EF.5GS3GPPLOCI", 0x4F01, F5.LOCI_5GS, PIN_OR_ADM, PIN_OR_ADM, size=20, sfi=0x01,
           initial=F5.LOCI_5GS.vectors[0].data, description="5GS 3GPP location information (UST service 122)"),
        EF("EF.5GSN3GPPLOCI", 0x4F02, F5.LOCI_5GS, PIN_OR_ADM, PIN_OR_ADM, size=20, sfi=0x02,
           initial=F5.LOCI_5GS.vectors[0].data, description="5GS non-3GPP location information (service 122)"),
        lf("EF.5GS3GPPNSC", 0x4F03, F5.NSC_5GS_RECORD, 57, 1, read=PIN_OR_ADM, update=PIN_OR_ADM, sfi=0x03,
           description="5GS 3GPP access NAS security context (service 122)"),
        lf("EF.5GSN3GPPNSC", 0x4F04, F5.NSC_5GS_RECORD, 57, 1, read=PIN_OR_ADM, update=PIN_OR_ADM, sfi=0x04,
           description="5GS non-3GPP access NAS security context (service 122)"),
        EF("EF.5GAUTHKEYS", 0x4F05, F5.AUTH_KEYS_5G, PIN_OR_ADM, PIN_OR_ADM, size=68, sfi=0x05,
           description="5G authentication keys K_AUSF, K_SEAF (service 123)"),
        EF("EF.UAC_AIC", 0x4F06, F5.UAC_AIC, PIN_OR_ADM, ADM, size=4, sfi=0x06,
           description="UAC access identities configuration (service 126)"),
        EF("EF.SUCI_Calc_Info", 0x4F07, F5.SUCI_CALC_INFO, PIN_OR_ADM, ADM, size=128, sfi=0x07,
           description="SUCI calculation information: protection schemes, home network keys (service 124)"),
        lf("EF.OPL5G", 0x4F08, F5.OPL5G_RECORD, 10, 10, read=PIN_OR_ADM, update=ADM, sfi=0x08,
           description="5GS operator PLMN list (service 129)"),
        EF("EF.Routing_Indicator", 0x4F0A, F5.ROUTING_INDICATOR, PIN_OR_ADM, ADM, size=4, sfi=0x0A,
           description="routing indicator (service 124)"),
    ),
)

# Placeholder sizes for EF.ARR; `standard_tree` sizes them from the rules the tree needs.
_ARR_SIZE = (48, 8)

USIM = DF(
    "ADF.USIM",
    0x7FFF,
    aid=USIM_AID,
    description="USIM application (TS 31.102); FID 7FFF while active",
    children=(
        EF("EF.LI", 0x6F05, C.LANGUAGES, ALW, PIN_OR_ADM, size=10, sfi=0x02, description="language indication"),
        lf("EF.ARR", 0x6F06, C.ARR_RECORD, *_ARR_SIZE, read=ALW, update=ADM, sfi=0x17,
           description="access rule reference"),
        EF("EF.IMSI", 0x6F07, C.IMSI, PIN_OR_ADM, ADM, size=9, sfi=0x07),
        EF("EF.KEYS", 0x6F08, C.KEYS, PIN_OR_ADM, PIN_OR_ADM, size=33, sfi=0x08, description="CK/IK, CS domain"),
        EF("EF.KEYSPS", 0x6F09, C.KEYS, PIN_OR_ADM, PIN_OR_ADM, size=33, sfi=0x09,
           description="CK/IK, PS domain"),
        EF("EF.PLMNwAcT", 0x6F60, C.PLMNWACT, PIN_OR_ADM, PIN_OR_ADM, size=50, sfi=0x0A,
           description="user controlled PLMN selector with access technology"),
        EF("EF.HPPLMN", 0x6F31, C.HPPLMN, PIN_OR_ADM, ADM, size=1, sfi=0x12,
           description="higher priority PLMN search period"),
        lf("EF.SMS", 0x6F3C, X.SMS_RECORD, 176, 10, read=PIN_OR_ADM, update=PIN_OR_ADM,
           initial=X.SMS_EMPTY_RECORD, description="short messages (UST service 10)"),
        EF("EF.UST", 0x6F38, C.UST, PIN_OR_ADM, ADM, size=17, sfi=0x04, description="USIM service table"),
        EF("EF.MSISDN", 0x6F40, C.MSISDN_RECORD, PIN_OR_ADM, PIN_OR_ADM, structure="linear_fixed",
           record_length=28, record_count=2),
        EF("EF.SMSP", 0x6F42, C.SMSP_RECORD, PIN_OR_ADM, PIN_OR_ADM, structure="linear_fixed",
           record_length=40, record_count=2, description="short message service parameters"),
        EF("EF.SMSS", 0x6F43, X.SMSS, PIN_OR_ADM, PIN_OR_ADM, size=2, initial=X.SMSS.vectors[0].data,
           description="SMS status (UST service 10)"),
        EF("EF.SPN", 0x6F46, C.SPN, ALW, ADM, size=17, description="service provider name"),
        EF("EF.EST", 0x6F56, C.EST, PIN_OR_ADM, PIN2_OR_ADM, size=1, sfi=0x05,
           description="enabled services table"),
        EF("EF.ACL", 0x6F57, C.ACL, PIN_OR_ADM, PIN2_OR_ADM, size=128, description="APN control list"),
        EF("EF.START-HFN", 0x6F5B, X.START_HFN, PIN_OR_ADM, PIN_OR_ADM, size=6, sfi=0x0F,
           initial=X.START_HFN.vectors[0].data, description="hyperframe number start values, CS and PS"),
        EF("EF.THRESHOLD", 0x6F5C, X.THRESHOLD, PIN_OR_ADM, ADM, size=3, sfi=0x10,
           initial=X.THRESHOLD.vectors[0].data, description="maximum value of START"),
        EF("EF.OPLMNwACT", 0x6F61, C.OPLMNWACT, PIN_OR_ADM, ADM, size=200, sfi=0x11,
           description="operator controlled PLMN selector with access technology"),
        EF("EF.HPLMNwAcT", 0x6F62, C.HPLMNWACT, PIN_OR_ADM, ADM, size=10, sfi=0x13),
        EF("EF.PSLOCI", 0x6F73, C.PSLOCI, PIN_OR_ADM, PIN_OR_ADM, size=14, sfi=0x0C),
        EF("EF.ACC", 0x6F78, C.ACC, PIN_OR_ADM, ADM, size=2, sfi=0x06, description="access control class"),
        EF("EF.FPLMN", 0x6F7B, C.FPLMN, PIN_OR_ADM, PIN_OR_ADM, size=24, sfi=0x0D, description="forbidden PLMNs"),
        EF("EF.LOCI", 0x6F7E, C.LOCI, PIN_OR_ADM, PIN_OR_ADM, size=11, sfi=0x0B),
        EF("EF.AD", 0x6FAD, C.AD, ALW, ADM, size=4, sfi=0x03, description="administrative data"),
        lf("EF.ECC", 0x6FB7, C.ECC_RECORD, 16, 5, read=ALW, update=ADM, sfi=0x01,
           description="emergency call codes"),
        EF("EF.NETPAR", 0x6FC4, X.NETPAR, PIN_OR_ADM, PIN_OR_ADM, size=46, description="network parameters"),
        EF("EF.EHPLMN", 0x6FD9, C.EHPLMN, PIN_OR_ADM, ADM, size=12, sfi=0x1D, description="equivalent HPLMN"),
        EF("EF.EPSLOCI", 0x6FE3, C.EPSLOCI, PIN_OR_ADM, PIN_OR_ADM, size=18, sfi=0x1E),
        lf("EF.EPSNSC", 0x6FE4, X.EPSNSC_RECORD, 54, 1, read=PIN_OR_ADM, update=PIN_OR_ADM, sfi=0x18,
           description="EPS NAS security context (UST service 85)"),
        GSM_ACCESS,
        DF_5GS,
    ),
)

# DF.GSM as the classic SIM tools read and write it (TS 51.011 §10.3; pySim-read, pySim-prog): the GSM
# service table, the PLMN lists, location and keys. Sizes: the USIM copies' (a model resizes both alike);
# EF.PLMNsel holds as many PLMNs as EF.OPLMNwAcT, which it is rendered from. Access per TS 51.011 §10.3,
# with ADM1 added to every read set as elsewhere.
GSM_CLASSIC: tuple[EF, ...] = (
    EF("EF.Kc", 0x6F20, X.KC, PIN_OR_ADM, PIN_OR_ADM, size=9, initial=X.KC.vectors[0].data,
       description="GSM ciphering key Kc and its sequence number"),
    EF("EF.PLMNsel", 0x6F30, G.PLMNSEL, PIN_OR_ADM, PIN_OR_ADM, size=120, description="PLMN selector"),
    EF("EF.HPPLMN", 0x6F31, C.HPPLMN, PIN_OR_ADM, ADM, size=1, description="higher priority PLMN search period"),
    EF("EF.SST", 0x6F38, G.SST, PIN_OR_ADM, ADM, size=15, description="SIM service table"),
    EF("EF.KcGPRS", 0x6F52, X.KC, PIN_OR_ADM, PIN_OR_ADM, size=9, initial=X.KC.vectors[0].data,
       description="GPRS ciphering key and its sequence number"),
    EF("EF.LOCIGPRS", 0x6F53, C.PSLOCI, PIN_OR_ADM, PIN_OR_ADM, size=14, description="GPRS location information"),
    EF("EF.PLMNwAcT", 0x6F60, C.PLMNWACT, PIN_OR_ADM, PIN_OR_ADM, size=50,
       description="user controlled PLMN selector with access technology"),
    EF("EF.OPLMNwAcT", 0x6F61, C.OPLMNWACT, PIN_OR_ADM, ADM, size=200,
       description="operator controlled PLMN selector with access technology"),
    EF("EF.HPLMNwAcT", 0x6F62, C.HPLMNWACT, PIN_OR_ADM, ADM, size=10),
    EF("EF.FPLMN", 0x6F7B, C.FPLMN, PIN_OR_ADM, PIN_OR_ADM, size=24, description="forbidden PLMNs"),
    EF("EF.LOCI", 0x6F7E, C.LOCI, PIN_OR_ADM, PIN_OR_ADM, size=11, description="location information"),
    EF("EF.Phase", 0x6FAE, G.PHASE, ALW, ADM, size=1, description="phase identification"),
)

# ADF.ISIM (TS 31.103 §4.2): the IMS identities and the IMS AKA context (AUTHENTICATE P2 = 81). Sizes as
# on a sysmoISIM-SJA2 (pySim's card-sanitizer backup of one), which our emulated card shares. FID FF01 is
# that card's too; an ADF is reached by AID (or 7FFF while current), never by its FID.
ISIM = DF(
    "ADF.ISIM",
    0xFF01,
    aid=ISIM_AID,
    description="ISIM application (TS 31.103): IMS identities, IMS AKA",
    children=(
        EF("EF.IMPI", 0x6F02, I.IMPI, PIN_OR_ADM, ADM, size=128, sfi=0x02, description="IMS private user identity"),
        EF("EF.DOMAIN", 0x6F03, I.DOMAIN, PIN_OR_ADM, ADM, size=50, sfi=0x05, description="home network domain name"),
        lf("EF.IMPU", 0x6F04, I.IMPU_RECORD, 128, 8, read=PIN_OR_ADM, update=ADM, sfi=0x04,
           description="IMS public user identities"),
        EF("EF.AD", 0x6FAD, C.AD, ALW, ADM, size=3, sfi=0x03, description="administrative data"),
        lf("EF.ARR", 0x6F06, C.ARR_RECORD, *_ARR_SIZE, read=ALW, update=ADM, sfi=0x06,
           description="access rule reference"),
        # Created with no service on (00): a card whose profile has no `ims` section must not offer all (FF).
        EF("EF.IST", 0x6F07, I.IST, PIN_OR_ADM, ADM, size=3, sfi=0x07, initial=b"\x00",
           description="ISIM service table"),
        lf("EF.P-CSCF", 0x6F09, I.PCSCF_RECORD, 128, 8, read=PIN_OR_ADM, update=ADM,
           description="P-CSCF addresses (IST services 1, 5)"),
    ),
)

GSM = DF(
    "DF.GSM",
    0x7F20,
    description="2G SIM application (TS 51.011) for terminals that read DF.GSM",
    children=(
        EF("EF.LP", 0x6F05, C.LP, ALW, PIN_OR_ADM, size=4, description="language preference"),
        EF("EF.IMSI", 0x6F07, C.IMSI, PIN_OR_ADM, ADM, size=9),
        EF("EF.SPN", 0x6F46, C.SPN, ALW, ADM, size=17),
        EF("EF.ACC", 0x6F78, C.ACC, PIN_OR_ADM, ADM, size=2),
        EF("EF.AD", 0x6FAD, C.AD, ALW, ADM, size=4),
        EF("EF.ECC", 0x6FB7, C.ECC_GSM, ALW, ADM, size=15),
        *GSM_CLASSIC,
    ),
)

TELECOM = DF(
    "DF.TELECOM",
    0x7F10,
    description="telecom DF (TS 51.011): the 2G copies of MSISDN and SMSP",
    children=(
        EF("EF.MSISDN", 0x6F40, C.MSISDN_RECORD, PIN_OR_ADM, PIN_OR_ADM, structure="linear_fixed",
           record_length=28, record_count=2),
        EF("EF.SMSP", 0x6F42, C.SMSP_RECORD, PIN_OR_ADM, PIN_OR_ADM, structure="linear_fixed",
           record_length=40, record_count=2),
    ),
)

PLAN = DF(
    "DF.PLAN",
    PLAN_DF_FID,
    description="the travel plan and its applet's state (applet_spec/files.md)",
    children=(
        EF("EF.PLAN_DEF", 0x4A01, C.PLAN_DEFINITION, PIN_OR_ADM, ADM, size=192,
           description="plan definition: data limit, validity, price, names"),
        # The applet's state. The applet writes these itself (durably, like any UPDATE); over the wire
        # only ADM1 may, for personalization. SFIs 02..04 match the FIDs' low byte; the key file's SFI
        # 0F is its FID's low 5 bits, so traces mask SFI-addressed writes to it (commands/trace.py).
        EF("EF.BALANCE", 0x4A02, C.BALANCE, PIN_OR_ADM, ADM, size=16, sfi=0x02,
           description="plan applet: data remaining and granted (bytes)"),
        EF("EF.VALIDITY", 0x4A03, C.VALIDITY, PIN_OR_ADM, ADM, size=20, sfi=0x03,
           description="plan applet: state, activation, expiry"),
        EF("EF.OTA_CNTR", 0x4A04, C.OTA_COUNTER, PIN_OR_ADM, ADM, size=5, sfi=0x04,
           description="plan applet: last accepted OTA counter (TS 102 225)"),
        EF("EF.OTA_KEYS", 0x4A0F, C.OTA_KEYS, NEVER, ADM, size=68, sfi=0x0F, secret=True, role="ota_keys",
           description="plan applet: OTA key set KIc/KID (proprietary)"),
    ),
)

MF = DF(
    "MF",
    0x3F00,
    description="master file",
    children=(
        lf("EF.DIR", 0x2F00, C.DIR_RECORD, 40, 2, read=ALW, update=ADM, sfi=0x1E, description="applications"),
        EF("EF.ICCID", 0x2FE2, C.ICCID, ALW, ADM, size=10, sfi=0x02, description="card serial number"),
        EF("EF.PL", 0x2F05, C.LANGUAGES, ALW, PIN_OR_ADM, size=10, sfi=0x05, description="preferred languages"),
        lf("EF.ARR", 0x2F06, C.ARR_RECORD, *_ARR_SIZE, read=ALW, update=ADM, sfi=0x06,
           description="access rule reference"),
        TELECOM,
        GSM,
        USIM,
        ISIM,
        PLAN,
    ),
)

# Proprietary files of our emulated card model (applet_spec/files.md): K/OPc and the PIN values.
# Readable by no one, written under ADM1 only.
AUTH_KEY = EF("EF.AUTH_KEY", 0x2F1A, C.AUTH_KEY, NEVER, ADM, size=80, secret=True, role="auth_key",
              description="K, OPc and the algorithm (proprietary)")
PINS = EF("EF.PINS", 0x2F1B, C.PINS, NEVER, ADM, size=33, secret=True, role="pins",
          description="PIN1/PUK1/PIN2/PUK2 values and PIN enable flags (proprietary)")
