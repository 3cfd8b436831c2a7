"""The documentation (README.md, docs/*.md, mkdocs.yml) against the repository.

- every relative link and image resolves (and an anchor to a heading of the page it names);
- every repository path in a command of a fenced bash block exists, every `make` target is in the
  Makefile, and every benchmark or experiment script run there answers ``--help``;
- the quick commands marked ``<!-- ci: run -->`` (on the results page) run from the repository root;
- the configuration reference lists exactly the schema's keys, with the schema's defaults (and, for the
  training keys, which the schema leaves without defaults, those of the training settings);
- the README is a manual of at most 200 lines, and no page refers to files outside the repository;
- the site builds with ``mkdocs build --strict``.
"""

from __future__ import annotations

import dataclasses
import glob
import os
import re
import shlex
import subprocess
import sys
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
PAGES = sorted(DOCS.glob("*.md"))
FILES = [README, *PAGES]
RESULTS = DOCS / "results.md"
CONFIG_PAGE = DOCS / "configuration.md"
SCHEMA = ROOT / "schemas" / "config.schema.yaml"
VENV_BIN = Path(sys.executable).parent

FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$", re.MULTILINE)
RUN_MARK = "<!-- ci: run -->"
# Paths of the repository as they appear in commands (the results/ folder is made by the runs).
REPO_PREFIXES = ("benchmarks/", "experiments/", "scripts/", "examples/", "data/", "envs/", "profiles/",
                 "schemas/", "tests/", "docs/", "rules/", "mtsar2sar/", "report/")
REPO_FILES = {"config.yaml", "Snakefile", "Makefile", "mkdocs.yml", "pyproject.toml", "LICENSE", "README.md"}
# History and machinery have no place in a user's manual; nor has a folder outside the repository (the
# development machines' data folder beside the checkout, spelled here so that this file names no such path).
OUTSIDE = "/".join(("..", "sha" + "red"))
FORBIDDEN = (OUTSIDE, "at the last stop", "at this stop", "earlier stop", "the issue's", "issue #",
             "as it was then", "former default", "used to be")
MISSING = object()


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def without_code(markdown: str) -> str:
    """The text outside fenced blocks and code spans (where brackets are no links)."""
    return re.sub(r"`[^`\n]*`", "", FENCE.sub("", markdown))


def slug(heading: str) -> str:
    """The anchor of a heading, as Python-Markdown's toc makes it (MkDocs)."""
    value = re.sub(r"`([^`]*)`", r"\1", heading)
    value = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", value)
    value = re.sub(r"[*_]{2}([^*_]+)[*_]{2}", r"\1", value)
    value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    value = re.sub(r"[^\w\s-]", "", value).strip().lower()
    return re.sub(r"[-\s]+", "-", value)


def anchors(path: Path) -> set[str]:
    return {slug(m.group(2)) for m in HEADING.finditer(FENCE.sub("", text(path)))}


def bash_blocks(path: Path) -> list[tuple[int, str]]:
    """(offset, code) of every fenced bash block of a page."""
    return [(m.start(), m.group(2)) for m in FENCE.finditer(text(path)) if m.group(1) in ("bash", "sh", "shell")]


def commands(code: str) -> list[str]:
    """The command lines of a block, continuation lines joined."""
    return [line for line in code.replace("\\\n", " ").splitlines() if line.strip()]


def tokens(line: str) -> list[str]:
    try:
        return shlex.split(line, comments=True)
    except ValueError:  # quotes nested in $(...): plain words are enough here
        return line.split("#")[0].split()


def repo_paths(line: str) -> list[str]:
    """Repository paths named by a command line (placeholders and shell variables left out)."""
    found = []
    for tok in tokens(line):
        for word in tok.split("="):  # --option=path
            if any(c in word for c in "$<>{}") or word.startswith(("/", "~", "http")):
                continue
            if word in REPO_FILES or word.startswith(REPO_PREFIXES):
                found.append(word)
    return found


def all_commands() -> list[tuple[Path, str]]:
    return [(path, line) for path in FILES for _, code in bash_blocks(path) for line in commands(code)]


# --- links ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_resolve(path: Path) -> None:
    problems = []
    for target in LINK.findall(without_code(text(path))):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        dest = (path.parent / file_part).resolve() if file_part else path
        if not dest.exists():
            problems.append(f"{target}: no such file {dest}")
            continue
        if path.parent == DOCS and DOCS not in (dest, *dest.parents):
            problems.append(f"{target}: outside docs/ (MkDocs cannot link it; write the path as `code`)")
        if anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            problems.append(f"{target}: no heading #{anchor} in {dest.name}")
    assert not problems, f"{path.name}: broken links:\n" + "\n".join(problems)


def test_every_page_is_in_the_nav() -> None:
    nav = yaml.safe_load(text(ROOT / "mkdocs.yml"))["nav"]
    listed = {page for entry in nav for page in entry.values()}
    assert listed == {p.name for p in PAGES}, f"mkdocs.yml nav {sorted(listed)} != docs pages {[p.name for p in PAGES]}"


def test_site_builds_strict(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs")
    run = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")], check=False,
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    out = run.stdout + run.stderr
    assert run.returncode == 0 and "WARNING" not in out, f"mkdocs build --strict failed:\n{out}"


# --- commands ------------------------------------------------------------------------------------

def test_commands_name_existing_paths() -> None:
    missing = []
    for path, line in all_commands():
        for p in repo_paths(line):
            hits = glob.glob(str(ROOT / p)) if any(c in p for c in "*?[") else [p] if (ROOT / p).exists() else []
            if not hits:
                missing.append(f"{path.name}: {p}  (in: {line.strip()})")
    assert not missing, "paths in commands that do not exist:\n" + "\n".join(missing)


def test_make_targets_exist() -> None:
    targets = set(re.findall(r"^([\w.-]+):", text(ROOT / "Makefile"), re.MULTILINE))
    used = []
    for path, line in all_commands():
        words = tokens(line)
        used += [(path.name, words[i + 1]) for i, w in enumerate(words[:-1]) if w == "make"]
    assert used, "no make command found in the README"
    unknown = [f"{page}: make {t}" for page, t in used if t not in targets]
    assert not unknown, f"make targets not in the Makefile ({sorted(targets)}):\n" + "\n".join(unknown)


def script_options() -> dict[str, set[str]]:
    """Benchmark and experiment scripts run by the docs' commands -> the options given to them."""
    used: dict[str, set[str]] = {}
    for _, line in all_commands():
        words = tokens(line)
        for i, word in enumerate(words):
            if word.endswith(".py") and word.startswith(("benchmarks/", "experiments/")):
                rest = words[i + 1:]
                end = next((j for j, w in enumerate(rest) if w in ("&&", "||", ";", "|")), len(rest))
                used.setdefault(word, set()).update(w.split("=")[0] for w in rest[:end] if w.startswith("--"))
    return used


def test_scripts_answer_help() -> None:
    """Every script run by a documented command answers --help, and knows the options given to it."""
    used = script_options()
    scripts = sorted(used)
    assert scripts, "no benchmark command found in the docs"

    def help_of(script: str) -> tuple[str, int, str]:
        run = subprocess.run([sys.executable, script, "--help"], check=False, cwd=ROOT, capture_output=True, text=True,
                             timeout=120)
        return script, run.returncode, run.stdout + run.stderr[-2000:]

    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        results = list(pool.map(help_of, scripts))
    failed = [f"{s} --help: exit {rc}\n{out}" for s, rc, out in results if rc != 0]
    assert not failed, "\n".join(failed)
    unknown = [f"{s} {opt}" for s, _, out in results for opt in sorted(used[s])
               if not re.search(rf"(?<![\w-]){re.escape(opt)}(?![\w-])", out)]
    assert not unknown, "options used in the docs that the scripts do not have:\n" + "\n".join(unknown)


def marked_blocks() -> list[tuple[Path, str]]:
    found = []
    for path in FILES:
        page = text(path)
        for offset, code in bash_blocks(path):
            before = page[:offset].rstrip().splitlines()
            if before and before[-1].strip() == RUN_MARK:
                found.append((path, code))
    return found


def test_marked_commands_are_on_the_results_page() -> None:
    blocks = marked_blocks()
    assert any(path == RESULTS for path, _ in blocks), f"no block marked {RUN_MARK} in docs/results.md"
    assert text(RESULTS).count(RUN_MARK) == sum(path == RESULTS for path, _ in blocks), \
        f"a {RUN_MARK} mark in results.md is not on the line before a bash block"


@pytest.mark.parametrize("code", [code for _, code in marked_blocks()], ids=lambda c: commands(c)[0][:60])
def test_marked_commands_run(code: str) -> None:
    """A quick command of the docs, run as a user of a fresh clone runs it (.venv/bin: this interpreter's)."""
    script = "\n".join(line.replace(".venv/bin/", f"{VENV_BIN}/") for line in commands(code))
    start = time.monotonic()
    run = subprocess.run(["bash", "-euo", "pipefail", "-c", script], check=False, cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    seconds = time.monotonic() - start
    out = (run.stdout + run.stderr)[-3000:]
    assert run.returncode == 0, f"documented command failed (exit {run.returncode}):\n{script}\n{out}"
    assert seconds < 60, f"a command marked {RUN_MARK} must take under a minute, took {seconds:.0f} s:\n{script}"


# --- the configuration reference -----------------------------------------------------------------

PLACEHOLDERS = {"aois": "<aoi>", "training.models": "<model>"}
ALIASES = {"training.aoi_model.": "training.models.<model>."}  # the same keys (a YAML anchor in the schema)


def schema_keys(node: dict[str, Any], prefix: str = "") -> dict[str, dict[str, Any]]:
    """Every key of the schema, ``section.key`` (``<aoi>`` / ``<model>`` for names), with its schema."""
    keys: dict[str, dict[str, Any]] = {}
    for name, sub in node.get("properties", {}).items():
        path = f"{prefix}.{name}" if prefix else name
        extra = sub.get("additionalProperties")
        if "properties" in sub:
            keys.update(schema_keys(sub, path))
        elif isinstance(extra, dict) and "properties" in extra:
            assert path in PLACEHOLDERS, f"a mapping of names in the schema without a placeholder: {path}"
            keys.update(schema_keys(extra, f"{path}.{PLACEHOLDERS[path]}"))
        else:
            keys[path] = sub
    return keys


def documented(page: str) -> dict[str, list[str]]:
    """Key -> its default cells, from the rows of the reference's tables (key in backticks first)."""
    rows: dict[str, list[str]] = {}
    for line in page.splitlines():
        m = re.match(r"^\|\s*`([a-z_]+\.[^`]+)`\s*\|(.*)\|\s*$", line)
        if m:
            key, cells = m.group(1), [c.strip() for c in m.group(2).split("|")]
            assert key not in rows, f"configuration.md documents {key} twice"
            rows[key] = cells
    return rows


def default_of(cell: str, key: str) -> Any:
    if cell == "—":
        return MISSING
    m = re.fullmatch(r"`([^`]*)`", cell)
    assert m, f"configuration.md, {key}: a default is — or one `YAML value`, got {cell!r}"
    return yaml.safe_load(m.group(1))


def normal(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def training_defaults() -> tuple[dict[str, Any], dict[str, Any]]:
    """Defaults of a training model and of the AOI's own network (the schema has none for them)."""
    from mtsar2sar.config.training import AOI_MODEL_DEFAULTS, TrainingConfig

    model = {f.name: normal(f.default) for f in dataclasses.fields(TrainingConfig)}
    aoi = {**model, **{k: normal(v) for k, v in AOI_MODEL_DEFAULTS.items()}}
    aoi.pop("looks")  # the AOI's own looks
    return model, aoi


def test_configuration_reference_lists_the_schema_keys() -> None:
    schema = schema_keys(yaml.safe_load(text(SCHEMA)))
    rows = documented(text(CONFIG_PAGE))

    def page_key(key: str) -> str:
        for alias, target in ALIASES.items():
            if key.startswith(alias):
                return target + key[len(alias):]
        return key

    undocumented = sorted(k for k in schema if page_key(k) not in rows)
    unknown = sorted(k for k in rows if k not in {page_key(s) for s in schema})
    assert not undocumented, f"schema keys missing from docs/configuration.md: {undocumented}"
    assert not unknown, f"docs/configuration.md documents keys the schema does not have: {unknown}"


def test_configuration_reference_defaults() -> None:
    schema = schema_keys(yaml.safe_load(text(SCHEMA)))
    rows = documented(text(CONFIG_PAGE))
    model, aoi = training_defaults()
    wrong = []
    for key, cells in rows.items():
        if key not in schema:
            continue  # test_configuration_reference_lists_the_schema_keys names it
        if key.startswith("training.models.<model>."):
            name = key.rsplit(".", 1)[1]
            spec = schema[key]
            expected = [spec.get("default", model.get(name, MISSING)), aoi.get(name, MISSING)]
            assert len(cells) == 3, f"configuration.md, {key}: key | model default | AOI default | meaning"
        else:
            expected = [schema[key].get("default", MISSING)]
            assert len(cells) == 2, f"configuration.md, {key}: key | default | meaning"
        for cell, want in zip(cells, expected):
            got = default_of(cell, key)
            if not (got is MISSING and want is MISSING) and (got is MISSING or want is MISSING or got != want):
                shown = "—" if want is MISSING else repr(want)
                wrong.append(f"{key}: the page says {cell}, the default is {shown}")
    assert not wrong, "docs/configuration.md defaults differ:\n" + "\n".join(wrong)


# --- the README ------------------------------------------------------------------------------------

def test_readme_is_a_short_manual() -> None:
    lines = text(README).splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines; at most 200 (the rest belongs in docs/)"
    for heading in ("## Two commands", "## Install as a tool", "## Your own stack", "## Outputs",
                    "## Where to read more"):
        assert heading in lines, f"README.md lacks the section {heading!r}"
    assert "make demo" in text(README) and "make test" in text(README)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_history_or_outside_files(path: Path) -> None:
    page = text(path).lower()
    found = [phrase for phrase in FORBIDDEN if phrase in page]
    assert not found, f"{path.name} mentions {found}: state current behaviour and figures only"


def test_configuration_examples_are_valid() -> None:
    """The configurations shown (the README's complete one included) pass the schema."""
    jsonschema = pytest.importorskip("jsonschema")
    schema = yaml.safe_load(text(SCHEMA))
    blocks = [(path, m.group(2)) for path in FILES for m in FENCE.finditer(text(path)) if m.group(1) == "yaml"]
    assert any(path == README for path, _ in blocks), "README.md has no YAML configuration example"
    for path, block in blocks:
        try:
            jsonschema.validate(yaml.safe_load(block), schema)
        except jsonschema.ValidationError as exc:
            pytest.fail(f"{path.name}: a configuration example is invalid: {exc.message}\n{block}")
