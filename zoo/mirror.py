"""``zoo mirror``: official checkpoints -> verified, converted Hugging Face Hub copies (for maintainers).

For each weight file of an entry: fetch the official file (:func:`zoo.sources.fetch_from_source`,
so the published hash or hash prefix is checked first), load it safely, map its keys with the
method's own key map (``convert_state_dict``), prove the result loads key for key into the
entry's architecture, and write it as safetensors. The staged folder holds those files, a
``config.json`` (architecture, params, settings, input convention, licence, paper, source URL
and sha256 of every file) and a model card ``README.md``. Without ``dry_run`` the folder is
uploaded with ``huggingface_hub`` and the commit and hashes are written back into
registry.yaml's ``mirrors:`` section, which :func:`zoo.catalog.cards` reads over the entries
(registry or plugin) so that ``zoo fetch ID`` then gets the mirror, pinned and verified.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from zoo.errors import WeightsError, ZooError

INPUT_CONVENTION = ("float32 N x 3 x H x W RGB in [0, 1] at every boundary; the method converts to its network's "
                    "range (e.g. [-1, 1] or [0, 255]) and channel order inside")
_REPO_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,94}[A-Za-z0-9]$")
_HF_LICENCES = [(r"apache", "apache-2.0"), (r"bsd-3-clause-clear", "bsd-3-clause-clear"), (r"bsd-3", "bsd-3-clause"),
                (r"bsd-2", "bsd-2-clause"), (r"\bmit\b", "mit"), (r"cc by-nc-sa 4\.0|cc-by-nc-sa-4\.0", "cc-by-nc-sa-4.0"),
                (r"cc by-nc 4\.0|cc-by-nc-4\.0", "cc-by-nc-4.0"), (r"cc by 4\.0|cc-by-4\.0", "cc-by-4.0")]


@dataclass
class StagedMirror:
    """A folder ready to upload as ``repo_id`` and the catalog fields each of its files gets."""

    method_id: str
    repo_id: str
    folder: Path
    copies: list[dict[str, Any]] = field(default_factory=list)  # registry.yaml `mirrors:` items (revision added on upload)
    skipped: list[str] = field(default_factory=list)


def repo_id_for(owner: str, method_id: str) -> str:
    """``OWNER/<method id>``, checked against the Hub's naming rules."""
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}$", owner or ""):
        raise ZooError(f"--to {owner!r}: a Hugging Face user or organisation name (letters, digits, '-')")
    name = method_id.replace("+", "-")
    if not _REPO_NAME.match(name) or "--" in name or ".." in name:
        raise ZooError(f"{method_id}: not usable as a Hub repository name; rename the entry")
    return f"{owner}/{name}"


def hf_licence(licence: str | None) -> str:
    """The Hub's licence tag for a catalog licence text (``other`` when none fits)."""
    text = (licence or "").lower()
    for pattern, tag in _HF_LICENCES:
        if re.search(pattern, text):
            return tag
    return "other"


def _file_name(ref, n_refs: int) -> str:
    if n_refs == 1:
        return "model.safetensors"
    bits = ([ref.part] if ref.part else []) + [f"{k}-{v}" for k, v in sorted(ref.setting.items())]
    name = re.sub(r"[^A-Za-z0-9._-]", "_", "_".join(bits) or "model")
    return f"{name}.safetensors"


def convert_ref(card, ref, source_path: Path) -> dict:
    """The official file's state dict in the layout the method loads, proven to load key for key."""
    import torch

    from zoo.loading import build
    from zoo.weights import load_state_dict

    state = load_state_dict(source_path)
    method = build(card, own_weights=True, **ref.setting)
    converted = type(method).convert_state_dict(state)
    bad = [k for k, v in converted.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise WeightsError(f"{card.id}: {source_path} holds non-tensor values under {bad[:5]}; cannot write safetensors")
    converted = {k: v.detach().clone().contiguous() for k, v in converted.items()}
    fresh = build(card, own_weights=True, **ref.setting)
    if ref.part:
        fresh.load_weights(dict(converted), part=ref.part)
    else:
        fresh.load_weights(dict(converted))  # strict: a missing or unexpected key is an error
    return converted


def model_card(card, repo_id: str, config: dict) -> str:
    """README.md for the Hub repository (catalog text escaped: the Hub renders HTML in Markdown)."""
    from zoo.licences import is_non_commercial

    esc = lambda v: html.escape(str(v)) if v is not None else ""  # noqa: E731
    tag = hf_licence(card.license)
    front = {"license": tag, "library_name": "imagezoo", "tags": ["imagezoo", card.task]}
    if tag == "other":
        front["license_name"] = re.sub(r"[^a-z0-9-]+", "-", (card.license or "unknown").lower()).strip("-")[:60]
    lines = ["---", yaml.safe_dump(front, sort_keys=False).strip(), "---", "", f"# {esc(card.id)}", "",
             esc(card.description), "",
             f"Weights for the `{esc(card.factory)}` architecture of [imagezoo](https://pypi.org/project/imagezoo/), "
             f"converted from the official checkpoint(s) below to safetensors with the method's own key map and "
             f"checked to load key for key. Load them with `zoo.load(\"{esc(card.id)}\")` once the catalog names "
             f"this repository (`zoo fetch {esc(card.id)}`).", "",
             f"- Task: {esc(card.task)}", f"- Paper: {esc(card.paper)}",
             f"- Licence: {esc(card.license)}" + ("  \n  **Non-commercial use only.**" if is_non_commercial(card.license) else ""),
             f"- Input convention: {INPUT_CONVENTION}", "", "## Files", "",
             "| file | sha256 | official source | source sha256 | source check |", "|---|---|---|---|---|"]
    for f in config["files"]:
        lines.append(f"| `{esc(f['file'])}` | `{f['sha256']}` | {esc(f['source'])} | `{f['source_sha256']}` | "
                     f"{esc(f['source_verification'])} ({esc(f['hash_status'])}) |")
    lines += ["", f"Mirrored by `zoo mirror {esc(card.id)} --to {esc(repo_id.split('/')[0])}`; the licence of the "
              "original weights applies unchanged.", ""]
    return "\n".join(lines)


def stage(method_id: str, owner: str, folder: Path, *, trust_on_first_use: bool = False,
          source_base: str | None = None, log=print) -> StagedMirror:
    """Fetch, verify, convert and write the upload folder for one entry (nothing is uploaded)."""
    from zoo.catalog import get_card
    from zoo.licences import is_non_commercial
    from zoo.sources import fetch_from_source, hash_status, parse_source
    from zoo.version import __version__
    from zoo.weights import save_state_dict

    card = get_card(method_id)
    repo_id = repo_id_for(owner, method_id)
    refs = [r for r in card.weights if not r.bundled]
    if not refs:
        raise ZooError(f"{method_id}: nothing to mirror (no weights, or only files bundled in a plugin)")
    if folder.exists() and any(folder.iterdir()):
        raise ZooError(f"{folder}: exists and is not empty; choose another --out or remove it")
    folder.mkdir(parents=True, exist_ok=True)
    staged = StagedMirror(method_id, repo_id, folder)
    files = []
    for ref in refs:
        link = parse_source(ref.source)
        url = f"{source_base.rstrip('/')}/{link.file_name}" if source_base and link.file_name else None
        try:
            got = fetch_from_source(ref, method_id, trust_on_first_use=trust_on_first_use, url=url)
        except WeightsError as exc:
            staged.skipped.append(str(exc))
            log(f"skipped: {exc}")
            continue
        name = _file_name(ref, len(refs))
        digest = save_state_dict(convert_ref(card, ref, got.path), folder / name)
        files.append({"file": name, "sha256": digest, "part": ref.part, "setting": ref.setting, "source": link.url,
                      "source_sha256": got.sha256, "source_size": got.size, "source_verification": got.verification,
                      "hash_status": hash_status(ref), "provenance": ref.provenance})
        staged.copies.append({**({"part": ref.part} if ref.part else {}), **({"setting": ref.setting} if ref.setting else {}),
                              "hub": repo_id, "file": name, "sha256": digest, "source_sha256": got.sha256})
    if not files:
        shutil.rmtree(folder)
        raise WeightsError(f"{method_id}: no weight file could be fetched and verified; nothing staged")
    config = {"imagezoo_id": card.id, "architecture": card.factory, "task": card.task, "params": card.params,
              "settings": list(card.settings), "input": INPUT_CONVENTION, "license": card.license,
              "non_commercial": is_non_commercial(card.license), "paper": card.paper, "description": card.description,
              "files": files, "converted_by": f"imagezoo {__version__} (zoo mirror)"}
    (folder / "config.json").write_text(json.dumps(config, indent=2, default=str) + "\n")
    (folder / "README.md").write_text(model_card(card, repo_id, config))
    return staged


def upload(staged: StagedMirror, token: str | None = None) -> str:
    """Upload the staged folder to the Hub; returns the commit sha (the revision to pin)."""
    from huggingface_hub import HfApi

    api = HfApi(token=token, library_name="imagezoo")
    api.create_repo(staged.repo_id, repo_type="model", exist_ok=True)
    info = api.upload_folder(folder_path=str(staged.folder), repo_id=staged.repo_id, repo_type="model",
                             commit_message=f"imagezoo mirror of {staged.method_id}")
    return info.oid


MIRRORS_HEADER = ("# Hugging Face Hub copies written by `zoo mirror` (converted safetensors): each item fills the weight ref of\n"
                  "# the entry with the same part/setting; source_sha256 is the official file's, sha256 the copy's.\n")


def record_mirror(registry: Path, method_id: str, copies: list[dict[str, Any]]) -> None:
    """Write ``copies`` (with ``revision``) for ``method_id`` into registry.yaml's ``mirrors:`` section.

    Only that section is rewritten (it is machine-written, at the end of the file); the rest of
    the file, comments included, is left byte for byte.
    """
    text = registry.read_text()
    lines = text.splitlines(keepends=True)
    start = next((i for i, ln in enumerate(lines) if ln.startswith("mirrors:")), None)
    current: dict = {}
    if start is not None:
        end = next((j for j in range(start + 1, len(lines)) if re.match(r"^[A-Za-z_]", lines[j])), len(lines))
        current = (yaml.safe_load("".join(lines[start:end])) or {}).get("mirrors") or {}
        header = MIRRORS_HEADER.splitlines(keepends=True)
        if start >= len(header) and lines[start - len(header):start] == header:
            start -= len(header)
        head, tail = lines[:start], lines[end:]
    else:
        head, tail = lines, []
    current[method_id] = copies
    body = MIRRORS_HEADER + yaml.safe_dump({"mirrors": current}, sort_keys=False, default_flow_style=None, width=120)
    prefix = "".join(head)
    if prefix and not prefix.endswith("\n"):
        prefix += "\n"
    new = prefix + ("\n" if prefix and not prefix.endswith("\n\n") else "") + body + "".join(tail)
    tmp = registry.with_suffix(".yaml.tmp")
    tmp.write_text(new)
    from zoo.catalog import _read_yaml

    try:
        yaml.safe_load(tmp.read_text())
    except yaml.YAMLError as exc:  # never leave a broken catalog behind
        tmp.unlink()
        raise ZooError(f"{registry}: writing the mirrors section failed ({exc}); the file is unchanged") from exc
    tmp.replace(registry)
    _read_yaml.cache_clear()


def mirror(method_ids: list[str], owner: str, *, dry_run: bool = False, out: str | None = None,
           trust_on_first_use: bool = False, source_base: str | None = None, registry: Path | None = None,
           log=print) -> list[StagedMirror]:
    """Stage (and unless ``dry_run`` upload and record) a Hub mirror for each id."""
    from zoo.catalog import registry_path

    done = []
    for mid in method_ids:
        if dry_run:
            folder = Path(out or "mirrors") / repo_id_for(owner, mid).split("/")[1]
            staged = stage(mid, owner, folder, trust_on_first_use=trust_on_first_use, source_base=source_base, log=log)
        else:
            tmp = Path(tempfile.mkdtemp(prefix="zoo-mirror-"))
            try:
                staged = stage(mid, owner, tmp / "upload", trust_on_first_use=trust_on_first_use,
                               source_base=source_base, log=log)
                revision = upload(staged)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            for c in staged.copies:
                c["revision"] = revision
            record_mirror(registry or registry_path(), mid, staged.copies)
        done.append(staged)
    return done
