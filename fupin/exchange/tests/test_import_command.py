"""``fupin import``: the report on screen and as JSON, the error workbook, the exit codes
(0 applied or a clean dry run, 1 rejected, 2 unreadable) and the user it acts as."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from python_calamine import CalamineWorkbook

from fupin.core.models import AuditEvent
from fupin.exchange.columns import HOUSEHOLD_SHEET
from fupin.exchange.report import REASON_COLUMN
from fupin.exchange.tests.package_builders import valid_rows, write_xlsx_package
from fupin.registry.models import Household

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[3]


def fupin_import(*args: str) -> tuple[int, str, str]:
    """Run the command in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    real_err = sys.stderr
    sys.stderr = err
    try:
        call_command("import_package", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        sys.stderr = real_err
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def good(tmp_path: Path, division_tree: Any) -> Path:
    return write_xlsx_package(tmp_path / "good.xlsx", *valid_rows(3))


@pytest.fixture
def bad(tmp_path: Path, division_tree: Any) -> Path:
    households, members = valid_rows(3)
    households[0]["household_size"] = "9"
    members[-1]["health"] = "很好"
    return write_xlsx_package(tmp_path / "bad.xlsx", households, members)


def test_a_clean_import_exits_0_and_prints_the_counts(good):
    code, out, _err = fupin_import(str(good))
    assert code == 0
    assert "3" in out.splitlines()[1]
    assert Household.objects.count() == 3


def test_json_is_exactly_the_report(good):
    code, out, _err = fupin_import(str(good), "--json", "--dry-run")
    assert code == 0
    report = json.loads(out)
    assert set(report) >= {
        "ok",
        "mode",
        "dry_run",
        "encoding",
        "households",
        "members",
        "errors",
        "warnings",
    }
    assert report["ok"] is True and report["dry_run"] is True and report["mode"] == "strict"
    assert report["encoding"] == "xlsx"
    assert set(report["households"]) == {"created", "updated", "unchanged", "rejected"}
    assert set(report["members"]) == {"created", "updated", "unchanged", "left", "rejected"}
    assert report["households"]["created"] == 3
    assert not Household.objects.exists()


def test_errors_exit_1_with_located_messages(bad):
    code, out, _err = fupin_import(str(bad), "--json", "--language", "en")
    assert code == 1
    report = json.loads(out)
    assert report["ok"] is False
    entries = {(e["sheet"], e["row"], e["column"], e["code"]) for e in report["errors"]}
    assert ("户信息", 2, "家庭人口", "size_mismatch") in entries
    assert all(
        set(e) <= {"sheet", "row", "column", "code", "message", "value"} for e in report["errors"]
    )
    assert not Household.objects.exists()


def test_partial_mode_applies_the_rest_and_still_exits_1(bad):
    code, out, _err = fupin_import(str(bad), "--mode", "partial")
    assert code == 1
    assert Household.objects.count() < 3 and Household.objects.exists()
    assert "size_mismatch" in out


def test_the_screen_shows_a_limited_number_of_errors(tmp_path, division_tree):
    households, members = valid_rows(60)
    for h in households:
        h["household_size"] = "31"
    code, out, _err = fupin_import(
        str(write_xlsx_package(tmp_path / "many.xlsx", households, members))
    )
    assert code == 1
    assert "还有 10 条" in out


def test_the_report_workbook_copies_the_offending_rows(bad, tmp_path):
    target = tmp_path / "errors.xlsx"
    code, _out, _err = fupin_import(str(bad), "--report", str(target))
    assert code == 1
    rows = CalamineWorkbook.from_path(str(target)).get_sheet_by_name(HOUSEHOLD_SHEET).to_python()
    assert rows[0][-1] == REASON_COLUMN
    assert rows[1][0] == valid_rows(3)[0][0]["household_no"]
    assert "家庭人口" in str(rows[1][-1])


def test_an_unreadable_package_exits_2_with_the_reason(tmp_path, division_tree):
    empty = tmp_path / "empty.xlsx"
    empty.write_bytes(b"")
    code, out, err = fupin_import(str(empty))
    assert code == 2
    assert err.strip()
    assert out == ""
    code, out, _err = fupin_import(str(tmp_path / "missing.zip"), "--json")
    assert code == 2
    assert json.loads(out)["ok"] is False


def test_as_a_user_the_import_stays_in_their_area(good, personas):
    code, out, _err = fupin_import(str(good), "--user", "outsider", "--json")
    assert code == 1
    assert {e["code"] for e in json.loads(out)["errors"]} == {"unknown_division"}
    code, _out, _err = fupin_import(str(good), "--user", "village_cadre_a1")
    assert code == 0
    assert (
        AuditEvent.objects.filter(
            action="household.register", actor_username="village_cadre_a1"
        ).count()
        == 3
    )


def test_an_unknown_user_is_refused(good):
    with pytest.raises(CommandError):
        call_command("import_package", str(good), "--user", "nobody")


def test_fupin_import_is_the_console_command(tmp_path):
    """The real console command: ``fupin import`` maps to import_package; an unreadable package
    exits 2 with the reason on standard error."""
    empty = tmp_path / "empty.xlsx"
    empty.write_bytes(b"")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["FUPIN_DATA_DIR"] = str(tmp_path / "data")
    done = subprocess.run(
        [str(Path(sys.executable).parent / "fupin"), "import", str(empty), "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert json.loads(done.stdout)["ok"] is False
    assert done.stderr.strip()
