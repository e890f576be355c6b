from pathlib import Path

import pytest
from django.db import connection

from fupin.divisions.models import Division, DivisionChange
from fupin.divisions.services import DivisionFileError, divisions_load_csv

BUNDLED = Path(__file__).resolve().parents[1] / "data" / "liaocheng-divisions.csv"


def write(tmp_path: Path, text: str, name: str = "d.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.django_db
def test_bundled_liaocheng_loads_with_paths_and_is_idempotent():
    result = divisions_load_csv(BUNDLED)
    assert result.created == Division.objects.count() == 146
    assert Division.objects.filter(level="county").count() == 8
    assert Division.objects.filter(level="township").count() == 136
    township = Division.objects.get(code="371502001000")
    assert township.path == "370000000000/371500000000/371502000000/371502001000/"
    again = divisions_load_csv(BUNDLED)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 146)


@pytest.mark.django_db
def test_rename_and_move_keep_history_and_move_the_subtree(tmp_path):
    divisions_load_csv(BUNDLED)
    village = (
        "371502001000,古楼街道,township,371502000000\n371502001201,一村,village,371502001000\n"
    )
    divisions_load_csv(write(tmp_path, "code,name,level,parent_code\n" + village))
    moved = "code,name,level,parent_code\n371502001000,古楼新街道,township,371503000000\n"
    result = divisions_load_csv(write(tmp_path, moved, "moved.csv"))
    assert result.updated == 1
    township = Division.objects.get(code="371502001000")
    assert township.name == "古楼新街道"
    assert township.path.startswith("370000000000/371500000000/371503000000/")
    assert Division.objects.get(code="371502001201").path == township.path + "371502001201/"
    changes = {
        (c.field, c.old_value, c.new_value)
        for c in DivisionChange.objects.filter(division=township)
    }
    assert ("name", "古楼街道", "古楼新街道") in changes
    assert ("parent", "371502000000", "371503000000") in changes
    assert (
        Division.objects.subtree(Division.objects.get(code="371503000000").path)
        .filter(code="371502001201")
        .exists()
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("text", "row", "column", "code"),
    [
        (
            "code,name,level,parent_code\n37150200100,x,township,371502000000\n",
            2,
            "code",
            "bad_format",
        ),
        ("code,name,level,parent_code\n371502001000,x,town,371502000000\n", 2, "level", "bad_code"),
        (
            "code,name,level,parent_code\n371502001000,x,township,999999999999\n",
            2,
            "parent_code",
            "unknown_division",
        ),
        (
            "code,name,level,parent_code\n371502001000,,township,371502000000\n",
            2,
            "name",
            "required",
        ),
        ("code,name,parent_code\n371502001000,x,371502000000\n", 1, "level", "missing_column"),
        (
            "code,name,level,parent_code\n371502001000,x,township,371502000000\n371502001000,x,township,371502000000\n",
            3,
            "code",
            "duplicate",
        ),
        (
            "code,name,level,parent_code\n371502000000,东昌府区,county,371502001000\n371502001000,x,township,371502000000\n",
            2,
            "parent_code",
            "bad_level",
        ),
    ],
)
def test_bad_rows_are_located_and_nothing_is_written(tmp_path, text, row, column, code):
    with pytest.raises(DivisionFileError) as exc:
        divisions_load_csv(write(tmp_path, text))
    assert any((e.row, e.column, e.code) == (row, column, code) for e in exc.value.errors), (
        exc.value.errors
    )
    assert all(e.file == "d.csv" for e in exc.value.errors)
    assert Division.objects.count() == 0


@pytest.mark.django_db
def test_gb18030_file_is_read(tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes("code,name,level,parent_code\n371500000000,聊城市,city,\n".encode("gb18030"))
    assert divisions_load_csv(path).created == 1
    assert Division.objects.get().name == "聊城市"


@pytest.mark.django_db
def test_subtree_query_uses_the_path_index(tmp_path):
    rows = ["code,name,level,parent_code", "371500000000,聊城市,city,"]
    for t in range(1, 51):
        township = f"371502{t:03d}000"
        rows.append(f"{township},镇{t},township,371500000000")
        rows.extend(f"{township[:9]}{v:03d},村{v},village,{township}" for v in range(201, 401))
    result = divisions_load_csv(write(tmp_path, "\n".join(rows) + "\n"))
    assert result.created == 1 + 50 + 10_000
    qs = Division.objects.subtree(Division.objects.get(code="371502007000").path)
    assert qs.count() == 201
    sql, params = qs.values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            plan = " ".join(str(r) for r in cursor.fetchall())
            assert "USING" in plan and "INDEX" in plan and "path" in plan.lower(), plan
        else:
            cursor.execute("ANALYZE divisions_division")
            cursor.execute("EXPLAIN " + sql, params)
            plan = " ".join(r[0] for r in cursor.fetchall())
            assert "Index" in plan, plan


@pytest.mark.django_db
def test_load_divisions_command_reports_located_errors_and_loads_with_validity(tmp_path):
    import datetime as dt
    import io

    from django.core.management import CommandError, call_command

    bad = write(
        tmp_path,
        "code,name,level,parent_code\n371500000000,聊城市,city,\n3715,x,county,371500000000\n",
    )
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 error"):
        call_command("load_divisions", str(bad), stderr=err)
    assert "d.csv, row 3, column code" in err.getvalue()
    assert Division.objects.count() == 0
    good = write(tmp_path, "code,name,level,parent_code\n371500000000,聊城市,city,\n", "good.csv")
    out = io.StringIO()
    call_command("load_divisions", str(good), "--valid-from", "2019-01-01", stdout=out)
    assert "1 created" in out.getvalue()
    assert Division.objects.get().valid_from == dt.date(2019, 1, 1)
