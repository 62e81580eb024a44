"""The shape of the labelled corpus in bench/scan_samples (what bench/scan_eval measures recall on).

Only the corpus is checked here, never the scanner's recall on it: the rules change on their own schedule, and
bench/scan_eval prints the figures.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[3] / "bench" / "scan_samples"
MIN_LABELS = 200
MIN_BEHAVIOURS = 25


def _load_corpus():
    spec = importlib.util.spec_from_file_location("scan_samples_corpus", SAMPLES / "corpus.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


corpus = _load_corpus()
ALL_SAMPLES = corpus.samples()
PYTHON_FILES = [path for sample in ALL_SAMPLES for path in sample.files if path.suffix == ".py"]


def test_corpus_has_at_least_200_labels_over_25_behaviours():
    labelled = [label for sample in ALL_SAMPLES for label in corpus.labels(sample)]
    assert len(labelled) >= MIN_LABELS
    assert len({label.behaviour for label in labelled}) >= MIN_BEHAVIOURS


def test_every_behaviour_has_malicious_samples_and_a_benign_look_alike():
    for behaviour in corpus.behaviours():
        kinds = {sample.label for sample in ALL_SAMPLES if sample.behaviour == behaviour}
        assert kinds == {"malicious", "benign"}, behaviour
        assert corpus.BEHAVIOUR_ID.match(behaviour), behaviour


def test_every_file_in_a_behaviour_folder_is_a_sample_by_name():
    assert corpus.stray_files() == []


def test_every_marker_names_its_folders_behaviour_and_only_malicious_files_carry_markers():
    for sample in ALL_SAMPLES:
        found = corpus.labels(sample)
        if sample.label == "benign":
            assert found == [], sample.name
            continue
        assert found, f"{sample.name} has no labelled statement"
        for label in found:
            assert label.behaviour == sample.behaviour, label
            assert label.first <= label.last, label


def test_every_marker_sits_on_a_line_the_regex_reads():
    """A misspelt marker ("# malicous:") would silently drop a label: every comment naming a label parses."""
    for sample in ALL_SAMPLES:
        for path in sample.files:
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if "# malic" in line or "#malic" in line:
                    assert corpus.MARKER.search(line), f"{path.name}:{number}"


@pytest.mark.parametrize("path", PYTHON_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_python_sample_parses_unless_it_says_why_not(path):
    text = path.read_text(encoding="utf-8")
    note = corpus.parse_note(text)
    if note and note.startswith("unparseable"):
        with pytest.raises((SyntaxError, RecursionError, MemoryError)):
            ast.parse(text)
        return
    if note and note.startswith("needs python"):
        wanted = tuple(int(part) for part in note.split()[-1].split("."))
        if sys.version_info[:2] < wanted:
            pytest.skip(f"{path.name} uses syntax of Python {note.split()[-1]}")
    ast.parse(text)


def test_every_sample_packages_as_an_sdist_and_python_packages_as_a_wheel_too():
    for sample in ALL_SAMPLES:
        kinds = [kind for _, _, kind in corpus.release_files(sample)]
        assert kinds[0] == "sdist", sample.name
        places = {corpus.SAMPLE_NAME.match(path.name).group(3) for path in sample.files}
        assert ("wheel" in kinds) == bool(places & corpus.IN_WHEEL), sample.name
