"""Service tables: USIM UST (TS 31.102 §4.2.8), EST (§4.2.47) and ISIM IST (TS 31.103 §4.2.7) by number
and by name.

Profiles name services; the card stores bits. Names are snake_case forms of the spec's titles.
"""

from __future__ import annotations

UST_SERVICES: dict[int, str] = {
    1: "local_phonebook",
    2: "fdn",
    3: "ext2",
    4: "sdn",
    5: "ext3",
    6: "bdn",
    7: "ext4",
    8: "oci_oct",
    9: "ici_ict",
    10: "sms",
    11: "smsr",
    12: "smsp",
    13: "aoc",
    14: "ccp2",
    15: "cbmi",
    16: "cbmir",
    17: "gid1",
    18: "gid2",
    19: "spn",
    20: "user_plmn_wact",
    21: "msisdn",
    22: "img",
    23: "solsa",
    24: "emlpp",
    25: "aaem",
    26: "rfu_26",
    27: "gsm_access",
    28: "data_download_sms_pp",
    29: "data_download_sms_cb",
    30: "call_control",
    31: "mo_sms_control",
    32: "run_at_command",
    33: "shall_be_set",
    34: "est",
    35: "acl",
    36: "depersonalisation_keys",
    37: "cooperative_network_list",
    38: "gsm_security_context",
    39: "cpbcch",
    40: "investigation_scan",
    41: "mexe",
    42: "operator_plmn_wact",
    43: "hplmn_wact",
    44: "ext5",
    45: "pnn",
    46: "opl",
    47: "mbdn",
    48: "mwis",
    49: "cfis",
    50: "rfu_50",
    51: "spdi",
    52: "mms",
    53: "ext8",
    54: "call_control_gprs",
    55: "mmsucp",
    56: "nia",
    57: "vgcs_gid_list",
    58: "vbs_gid_list",
    59: "pseudonym",
    60: "user_plmn_iwlan",
    61: "operator_plmn_iwlan",
    62: "user_wsid_list",
    63: "operator_wsid_list",
    64: "vgcs_security",
    65: "vbs_security",
    66: "wlan_reauth_identity",
    67: "mm_storage",
    68: "gba",
    69: "mbms_security",
    70: "data_download_ussd",
    71: "ehplmn",
    72: "additional_terminal_profile",
    73: "ehplmn_presentation_indication",
    74: "last_rplmn_selection_indication",
    75: "oma_bcast",
    76: "gba_local_key",
    77: "terminal_applications",
    78: "spn_icon",
    79: "pnn_icon",
    80: "usim_ip_connection_params",
    81: "iwlan_home_id_list",
    82: "iwlan_ehplmn_presentation",
    83: "iwlan_hplmn_priority",
    84: "iwlan_last_registered_plmn",
    85: "eps_mm_info",
    86: "allowed_csg_lists",
    87: "call_control_eps_pdn",
    88: "hplmn_direct_access",
    89: "ecall_data",
    90: "operator_csg_lists",
    91: "sm_over_ip",
    92: "csg_display_control",
    93: "ims_communication_control",
    94: "extended_terminal_applications",
    95: "uicc_ims_access",
    96: "nas_config",
    97: "pws_config",
    98: "rfu_98",
    99: "uri_support",
    100: "extended_earfcn",
    101: "prose",
    102: "usat_application_pairing",
    103: "media_type_support",
    104: "ims_call_disconnection_cause",
    105: "uri_mo_sms_control",
    106: "epdg_config_support",
    107: "epdg_config_configured",
    108: "acdc",
    109: "mcptt",
    110: "epdg_emergency_config_support",
    111: "epdg_emergency_config_configured",
    112: "ecall_data_over_ims",
    113: "uri_sms_pp_download",
    114: "from_preferred",
    115: "ims_config_data",
    116: "tv_config",
    117: "ps_data_off",
    118: "ps_data_off_service_list",
    119: "v2x",
    120: "xcap_config_data",
    121: "earfcn_list_mtc",
    122: "5gs_mm_info",
    123: "5g_security_params",
    124: "suci_privacy",
    125: "suci_by_usim",
    126: "uac_access_identities",
    127: "control_plane_sor",
    128: "call_control_pdu_session",
    129: "5gs_operator_plmn_list",
    130: "supi_nai",  # known so a card's UST decodes by name; profiles may not set it (the SUPI is the IMSI)
}

EST_SERVICES: dict[int, str] = {
    1: "fdn",
    2: "bdn",
    3: "acl",
}


def service_numbers(table: dict[int, str]) -> dict[str, int]:
    return {name: n for n, name in table.items()}


UST_BY_NAME = service_numbers(UST_SERVICES)
EST_BY_NAME = service_numbers(EST_SERVICES)


# --- ISIM service table (TS 31.103 §4.2.7) ------------------------------------------------------------

IST_SERVICES: dict[int, str] = {
    1: "pcscf_address",
    2: "gba",
    3: "http_digest",
    4: "gba_local_key_establishment",
    5: "pcscf_discovery_local_breakout",
    6: "sms",
    7: "smsr",
    8: "sm_over_ip",
    9: "communication_control_ims",
    10: "uicc_access_to_ims",
    11: "uri_support",
    12: "media_type_support",
    13: "ims_call_disconnection_cause",
    14: "uri_mo_sms_control",
    15: "mcptt",
    16: "uri_sms_pp_download",
    17: "from_preferred",
    18: "ims_config_data",
    19: "xcap_config_data",
    20: "webrtc_uri",
    21: "mud_mid_config_data",
    22: "ims_data_channel_indication",
}

IST_BY_NAME = service_numbers(IST_SERVICES)


# --- the GSM SIM service table, EF.SST (TS 51.011 §10.3.7) ----------------------------------------------
# Two bits a service (b1 allocated, b2 activated), services 1..4 in byte 1. Names as for the UST where the
# service is the same; the 2G-only ones spelt out.
SST_SERVICES: dict[int, str] = {
    1: "chv1_disable", 2: "adn", 3: "fdn", 4: "sms", 5: "aoc", 6: "ccp", 7: "plmn_selector", 8: "rfu_8",
    9: "msisdn", 10: "ext1", 11: "ext2", 12: "smsp", 13: "lnd", 14: "cbmi", 15: "gid1", 16: "gid2",
    17: "spn", 18: "sdn", 19: "ext3", 20: "rfu_20", 21: "vgcs_gid_list", 22: "vbs_gid_list", 23: "emlpp",
    24: "aaem", 25: "data_download_sms_cb", 26: "data_download_sms_pp", 27: "menu_selection",
    28: "call_control", 29: "proactive_sim", 30: "cbmir", 31: "bdn", 32: "ext4", 33: "depersonalisation_keys",
    34: "cooperative_network_list", 35: "smsr", 36: "nia", 37: "mo_sms_control", 38: "gprs", 39: "img",
    40: "solsa", 41: "ussd_in_call_control", 42: "run_at_command", 43: "user_plmn_wact",
    44: "operator_plmn_wact", 45: "hplmn_wact", 46: "cpbcch", 47: "investigation_scan", 48: "eccp",
    49: "mexe", 50: "rfu_50", 51: "pnn", 52: "opl", 53: "mbdn", 54: "mwis", 55: "cfis", 56: "spdi",
    57: "mms", 58: "ext8", 59: "mmsucp",
}
SST_BY_NAME = {v: k for k, v in SST_SERVICES.items()}

# The SST kept in step with the UST: SST service <- the UST service that turns on the same 2G files (the
# files in DF.GSM / DF.TELECOM; `SST_FILES` names them, and a test checks the tree holds them).
SST_FROM_UST: dict[int, int] = {9: 21, 12: 12, 17: 19, 43: 20, 44: 42, 45: 43}
# On whatever the UST says: CHV1 can be disabled on our cards; EF.PLMNsel, EF.KcGPRS and EF.LOCIGPRS are
# always in DF.GSM.
SST_ALWAYS: tuple[int, ...] = (1, 7, 38)
SST_FILES: dict[int, tuple[str, ...]] = {
    7: ("MF/DF.GSM/EF.PLMNsel",),
    9: ("MF/DF.TELECOM/EF.MSISDN",),
    12: ("MF/DF.TELECOM/EF.SMSP",),
    17: ("MF/DF.GSM/EF.SPN",),
    38: ("MF/DF.GSM/EF.KcGPRS", "MF/DF.GSM/EF.LOCIGPRS"),
    43: ("MF/DF.GSM/EF.PLMNwAcT",),
    44: ("MF/DF.GSM/EF.OPLMNwAcT",),
    45: ("MF/DF.GSM/EF.HPLMNwAcT",),
}


def sst_from_ust(ust: list[str] | tuple[str, ...]) -> list[str]:
    """The SST services (names) of a card whose UST has `ust` (names), in service order."""
    on = {UST_BY_NAME[n] for n in ust if n in UST_BY_NAME}
    numbers = set(SST_ALWAYS) | {s for s, u in SST_FROM_UST.items() if u in on}
    return [SST_SERVICES[n] for n in sorted(numbers)]
