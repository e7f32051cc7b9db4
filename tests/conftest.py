import itertools
import shutil

import psycopg
import pytest

from giftflow.db import migrate

PG = "postgresql+psycopg://postgres@127.0.0.1:55432/"
_n = itertools.count()


@pytest.fixture(scope="session")
def _tpl(tmp_path_factory):
    p = tmp_path_factory.mktemp("tpl") / "t.db"
    migrate(f"sqlite:///{p}")
    with psycopg.connect("postgresql://postgres@127.0.0.1:55432/postgres", autocommit=True) as c:
        c.execute("DROP DATABASE IF EXISTS gf_tpl")
        c.execute("CREATE DATABASE gf_tpl")
    migrate(PG + "gf_tpl")
    return p


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, _tpl, tmp_path):
    if request.param == "sqlite":
        dst = tmp_path / "g.db"
        shutil.copy(_tpl, dst)
        return f"sqlite:///{dst}"
    name = f"gf_t{next(_n)}_{id(tmp_path)}"
    with psycopg.connect("postgresql://postgres@127.0.0.1:55432/postgres", autocommit=True) as c:
        c.execute(f"CREATE DATABASE {name} TEMPLATE gf_tpl")
    return PG + name
