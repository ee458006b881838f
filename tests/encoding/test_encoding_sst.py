"""EF.SST kept in step with the UST (simtool.encoding.services): the table's files exist, the rendering agrees."""

from __future__ import annotations

from pathlib import Path

import pytest

from simtool.encoding.services import SST_ALWAYS, SST_FILES, SST_FROM_UST, SST_SERVICES, sst_from_ust
from simtool.fs import MODELS
from simtool.profile import Identity, load_profile
from simtool.profile.render import render

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("model", list(MODELS))
def test_every_sst_service_we_turn_on_has_its_files(model: str) -> None:
    fs = MODELS[model].fs
    for n in (*SST_ALWAYS, *SST_FROM_UST):
        for path in SST_FILES.get(n, ()):
            assert path in fs, (SST_SERVICES[n], path)
    assert set(SST_FILES) >= set(SST_FROM_UST) | {7, 38}


def test_sst_follows_the_ust() -> None:
    assert sst_from_ust([]) == ["chv1_disable", "plmn_selector", "gprs"]
    assert sst_from_ust(["spn", "msisdn", "operator_plmn_wact", "gsm_access"]) == [
        "chv1_disable", "plmn_selector", "msisdn", "spn", "gprs", "operator_plmn_wact"]


@pytest.mark.parametrize("model", list(MODELS))
def test_rendered_gsm_copies_match_the_usim(model: str) -> None:
    image = render(load_profile(ROOT / "profiles/kpn-wechat-1gb-15d.yaml"), Identity.sample(), model)
    fs = MODELS[model].fs

    def value(path: str) -> object:
        return fs[path].ef.codec.decode(image.files[path])  # type: ignore[arg-type]

    assert value("MF/DF.GSM/EF.SST") == sst_from_ust(value("MF/ADF.USIM/EF.UST"))  # type: ignore[arg-type]
    for name in ("EF.HPLMNwAcT", "EF.FPLMN", "EF.HPPLMN", "EF.PLMNwAcT"):
        assert value(f"MF/DF.GSM/{name}") == value(f"MF/ADF.USIM/{name}"), name
    oplmn = value("MF/ADF.USIM/EF.OPLMNwACT")
    assert value("MF/DF.GSM/EF.OPLMNwAcT") == oplmn
    assert value("MF/DF.GSM/EF.PLMNsel") == [{"mcc": p["mcc"], "mnc": p["mnc"]} for p in oplmn]  # type: ignore[attr-defined,index]
    assert value("MF/DF.GSM/EF.Phase") == "phase2_plus"
