"""Issue #18, item 2: a Hub dataset archive is extracted safely (beyond path traversal).

Each case builds a real tar/zip archive with one hostile member and checks that extraction
is refused with a clear error (or the member is made harmless), that nothing lands outside
the extraction folder and that a refused archive leaves no half-extracted folder behind.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
import zipfile

import pytest

from zoo.datasets.hub import _safe_extract
from zoo.errors import LimitError, ZooError


def _tar(path, members, mode="w:gz"):
    with tarfile.open(path, mode) as t:
        for info, data in members:
            t.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _file(name, data=b"pixels", **attrs):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for k, v in attrs.items():
        setattr(info, k, v)
    return info, data


def _special(name, kind):
    info = tarfile.TarInfo(name)
    info.type = kind
    if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
        info.linkname = "/etc/passwd"
    return info, None


def _leftovers(dest):
    return [p for p in dest.parent.iterdir() if p.name.startswith(f".{dest.name}.")]


@pytest.mark.parametrize("member, words", [
    (_file("../escape.png"), ["escape the extraction folder"]),
    (_file("/abs/escape.png"), ["escape the extraction folder"]),
    (_file("a/../../escape.png"), ["escape the extraction folder"]),
    (_special("link.png", tarfile.SYMTYPE), ["is a link"]),
    (_special("hard.png", tarfile.LNKTYPE), ["is a link"]),
    (_special("dev", tarfile.CHRTYPE), ["device node, FIFO"]),
    (_special("blk", tarfile.BLKTYPE), ["device node, FIFO"]),
    (_special("fifo", tarfile.FIFOTYPE), ["device node, FIFO"]),
])
def test_hostile_tar_member_is_refused(tmp_path, member, words):
    archive = _tar(tmp_path / "a.tar.gz", [_file("ok.png"), member])
    dest = tmp_path / "x" / "dest"
    with pytest.raises(ZooError) as err:
        _safe_extract(archive, dest)
    assert all(w in str(err.value) for w in words) and "a.tar.gz" in str(err.value)
    assert not dest.exists() and not _leftovers(dest) and not (tmp_path / "escape.png").exists()


def test_setuid_bits_and_foreign_owner_are_dropped(tmp_path):
    archive = _tar(tmp_path / "a.tar", [_file("img.png", mode=0o6777, uid=4321, gid=4321, uname="mallory", gname="evil"),
                                        _file("sub/b.png", mode=0o4755)], mode="w")
    dest = tmp_path / "dest"
    _safe_extract(archive, dest)
    for f in (dest / "img.png", dest / "sub" / "b.png"):
        st = f.stat()
        assert not st.st_mode & (stat.S_ISUID | stat.S_ISGID | stat.S_ISVTX | stat.S_IWOTH)
        assert st.st_uid == os.getuid()  # never chowned to the archive's owner (as root tarfile would)
    assert (dest / "img.png").read_bytes() == b"pixels"


def test_total_size_cap(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_MAX_ARCHIVE_MB", "1")
    zeros = b"\0" * (600 << 10)
    archive = _tar(tmp_path / "bomb.tar.gz", [_file("a.png", zeros), _file("b.png", zeros)])
    assert archive.stat().st_size < 10_000  # a tiny download ...
    with pytest.raises(LimitError, match="more than 1 MiB.*ZOO_MAX_ARCHIVE_MB"):
        _safe_extract(archive, tmp_path / "dest")  # ... refused before anything is written
    assert not (tmp_path / "dest").exists() and not _leftovers(tmp_path / "dest")


def test_member_count_cap(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_MAX_ARCHIVE_MEMBERS", "5")
    archive = _tar(tmp_path / "many.tar.gz", [_file(f"{i}.png") for i in range(6)])
    with pytest.raises(LimitError, match="more than 5 members.*ZOO_MAX_ARCHIVE_MEMBERS"):
        _safe_extract(archive, tmp_path / "dest")


def test_bad_limit_environment(tmp_path, monkeypatch):
    from zoo.errors import ConfigError

    monkeypatch.setenv("ZOO_MAX_ARCHIVE_MB", "lots")
    with pytest.raises(ConfigError, match="ZOO_MAX_ARCHIVE_MB='lots'"):
        _safe_extract(_tar(tmp_path / "a.tar.gz", [_file("a.png")]), tmp_path / "dest")


@pytest.mark.parametrize("payload", [b"", b"\x1f\x8b garbage", b"not an archive at all" * 10])
def test_corrupt_archive(tmp_path, payload):
    archive = tmp_path / "c.tar.gz"
    archive.write_bytes(payload)
    with pytest.raises(ZooError, match="c.tar.gz.*(corrupt|unreadable)"):
        _safe_extract(archive, tmp_path / "dest")
    assert not (tmp_path / "dest").exists()


def _zip(path, entries):
    with zipfile.ZipFile(path, "w") as z:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name)
            if mode is not None:
                info.external_attr = mode << 16
            z.writestr(info, data)
    return path


@pytest.mark.parametrize("entry, words", [
    (("../escape.png", b"x", None), ["escape the extraction folder"]),
    (("link.png", b"/etc/passwd", stat.S_IFLNK | 0o777), ["not a plain file"]),
    (("fifo", b"", stat.S_IFIFO | 0o644), ["not a plain file"]),
])
def test_hostile_zip_member_is_refused(tmp_path, entry, words):
    archive = _zip(tmp_path / "a.zip", [("ok.png", b"x", None), entry])
    with pytest.raises(ZooError) as err:
        _safe_extract(archive, tmp_path / "dest")
    assert all(w in str(err.value) for w in words)
    assert not (tmp_path / "dest").exists() and not (tmp_path / "escape.png").exists()


def test_zip_size_cap_and_good_zip(tmp_path, monkeypatch):
    big = _zip(tmp_path / "big.zip", [("a.png", b"\0" * (2 << 20), None)])
    monkeypatch.setenv("ZOO_MAX_ARCHIVE_MB", "1")
    with pytest.raises(LimitError, match="ZOO_MAX_ARCHIVE_MB"):
        _safe_extract(big, tmp_path / "dest")
    monkeypatch.delenv("ZOO_MAX_ARCHIVE_MB")
    _safe_extract(_zip(tmp_path / "good.zip", [("d/a.png", b"abc", stat.S_IFREG | 0o644)]), tmp_path / "dest")
    assert (tmp_path / "dest" / "d" / "a.png").read_bytes() == b"abc"


def test_hub_dataset_archive_through_the_real_download_path(tmp_path, monkeypatch):
    """A hostile archive in a (laid-out) Hub dataset repo is refused by `hub()`, and no cache entry is marked complete."""
    from zoo.datasets.hub import hub
    from zoo.testing import lay_out_hub_cache

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        info, _ = _special("dev", tarfile.CHRTYPE)
        t.addfile(info)
    rev = "a" * 40
    lay_out_hub_cache(tmp_path / "hub", "someone/data", rev, "images.tar.gz", buf.getvalue(), repo_type="dataset")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ZooError, match="device node"):
        hub("someone/data", revision=rev, archive="images.tar.gz")
    import hashlib

    from zoo.weights import zoo_cache_dir

    key = hashlib.sha256(f"someone/data@{rev}/images.tar.gz".encode()).hexdigest()[:16]
    assert not (zoo_cache_dir() / "datasets" / key).exists()  # no cache entry, complete or half-done
