import logging
import os
import subprocess
import sys

import pytest

from fupin.core.code_lists import code_list, code_lists_load_bundled
from fupin.core.logging import PersonalDataFilter
from fupin.core.masking import mask_id_number, mask_phone, scrub_text
from fupin.core.models import CodeItem


def test_masking_keeps_only_the_ends():
    assert mask_id_number("37150219700517001X") == "3715**********001X"
    assert mask_id_number("3715021970051700124") == "3715***********0124"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_id_number("") == ""


def test_log_records_never_carry_id_numbers_or_phones(caplog):
    logger = logging.getLogger("fupin.test")
    logger.addFilter(PersonalDataFilter())
    with caplog.at_level(logging.INFO, logger="fupin.test"):
        logger.info("imported %s with phone %s", "37150219700517001X", "13812345678")
    text = caplog.text
    assert "37150219700517001X" not in text and "13812345678" not in text
    assert "3715**********001X" in text
    assert scrub_text("no personal data here 2016") == "no personal data here 2016"


@pytest.mark.django_db
def test_code_lists_are_loaded_versioned_and_reload_idempotently():
    import datetime as dt

    causes = code_list("main_cause")
    assert getattr(causes.lookup("缺劳力"), "code", None) == "lack_labour"  # 2014 label, an alias
    assert getattr(causes.lookup("其它"), "code", None) == "other"
    assert not causes.codes["marriage"].valid_on(dt.date(2015, 6, 1))
    assert causes.codes["marriage"].valid_on(dt.date(2016, 6, 1))
    categories = code_list("category")
    assert "wubao" not in dict(categories.choices())  # historical value, no longer offered
    assert categories.label("wubao") == "五保贫困户"  # but still readable on old records
    assert len(code_list("ethnicity").codes) == 56
    count = CodeItem.objects.count()
    code_lists_load_bundled()
    assert CodeItem.objects.count() == count


def run_check(**env):
    full_env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE", "FUPIN_SECRET_KEY", "FUPIN_DATA_DIR"}
    }
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "fupin", "check"],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"FUPIN_DEBUG": "maybe"}, "FUPIN_DEBUG must be one of"),
        ({"DATABASE_URL": "mysql://x@y/z"}, "DATABASE_URL must be a postgres:// or sqlite:// URL"),
        ({"FUPIN_SECRET_KEY": "short"}, "at least 32 characters"),
        ({"FUPIN_LOGIN_FAILURE_LIMIT": "lots"}, "must be a whole number"),
    ],
)
def test_bad_settings_fail_with_a_clear_message(tmp_path, env, message):
    result = run_check(FUPIN_DATA_DIR=str(tmp_path), **env)
    assert result.returncode != 0
    assert message in result.stderr


def test_embedded_default_needs_no_configuration(tmp_path):
    result = run_check(FUPIN_DATA_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "secret_key").exists()
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_every_configured_log_handler_masks_personal_data():
    from fupin.settings import LOGGING

    for name, handler in LOGGING["handlers"].items():
        assert "personal_data" in handler.get("filters", []), name
    for name, logger in LOGGING["loggers"].items():
        assert logger["handlers"], name


def test_pages_open_in_chinese_whatever_the_browser_asks_until_english_is_chosen(personas):
    from django.test import Client

    from conftest import PASSWORD

    client = Client(headers={"accept-language": "en-US,en;q=0.9"})
    page = client.get("/accounts/login/").content.decode()
    assert "登录" in page
    assert client.login(username="village_cadre_a1", password=PASSWORD)
    client.post("/i18n/setlang/", {"language": "en", "next": "/households/"})
    page = client.get("/households/").content.decode()
    assert "Households" in page
