"""The same conformance scripts through pcscd and vpcd, as a PC/SC program sees the emulated card
(skipped where pcscd/vpcd cannot run, failed in CI)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from simtool.cli.main import main
from simtool.profile import Identity, load_profile
from tests.applet.applet_helpers import KEYS, ROOT

SCRIPTS = sorted(str(p) for p in (ROOT / "applet_spec" / "conformance").glob("*.apdu"))


@pytest.mark.parametrize("pcsc_card", [{"file": True}], indirect=True)
def test_conformance_and_phone_through_pcscd(pcsc_card, tmp_path: Path, capsys) -> None:
    from simtool.crypto.ota import write_ota_keys
    from simtool.personalize.flash import flash

    identity = dataclasses.replace(Identity.sample(), ota_keys=KEYS)
    with pcsc_card.open() as reader:
        flash(reader, load_profile(ROOT / "profiles" / "kpn-wechat-4gb-28d.yaml"), identity, verify_auth=False)
    keys = tmp_path / "ota.keys"
    write_ota_keys(keys, KEYS)
    assert main(["phone", "--reader", pcsc_card.uri, "--language", "zh", "--date", "2026-11-26T10:00+01:00",
                 "--register", "262-01", "--select", "我的套餐", "--json"]) == 0
    screens = json.loads(capsys.readouterr().out)["screens"]
    assert screens[-1]["text"].startswith("4GB 28天 欧洲流量\n剩余流量：4 GB（共 4 GB）")
    code = main(["conformance", "--reader", pcsc_card.uri, "--ota-keys", str(keys), "--json", *SCRIPTS])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["passed"] == len(SCRIPTS), doc
