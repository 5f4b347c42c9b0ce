"""`diff`'s pairing rules: name, timm tag, weights file, `--match` lines; each pair says its rule."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from index_helpers import write

from mixbench.diff import diff_sources
from mixbench.errors import IndexProblems, InputError, Problem
from mixbench.index import ModelCard, load_index
from mixbench.index.keys import normalise_key
from mixbench.index.pwc_archive import read_pwc_archive
from mixbench.pairing import (
    HEADER_WORDS,
    MatchLine,
    closest_pairs,
    match_models,
    parse_match_lines,
    read_match_file,
    weights_identity,
)

FIXTURE = Path(__file__).parents[1] / "data" / "pwc-archive" / "evaluation-tables-mixconv.json"
RELEASES = "https://github.com/rwightman/pytorch-image-models/releases/download/v0.1-weights"


def card(name: str, *, weights: str | None = None, **figures: int) -> ModelCard:
    return ModelCard(name, weights_url=weights, figures=figures or {"params": 1})


def rules(pairs) -> list[tuple[str, str, str]]:
    return [(pair.a.name, pair.b.name, pair.rule) for pair in pairs]


def line(a: str, b: str, number: int = 1) -> MatchLine:
    return MatchLine(a, b, "m.csv", number)


# ------------------------------------------------------------------------ the automatic rules


def test_name_then_tag():
    a = [card("mixnet_s"), card("mixnet_xl")]
    b = [card("mixnet_s"), card("mixnet_xl.ra_in1k")]
    assert rules(match_models(a, b, [])) == [
        ("mixnet_s", "mixnet_s", "name"),
        ("mixnet_xl", "mixnet_xl.ra_in1k", "tag"),
    ]


def test_the_same_weights_url_pairs_models_named_differently():
    a = [card("MixNet-L", weights=f"{RELEASES}/mixnet_l-5a9a2ed8.pth")]
    b = [card("mixnet_l", weights=f"{RELEASES.upper()[:19]}{RELEASES[19:]}/mixnet_l-5a9a2ed8.pth")]
    [pair] = match_models(a, b, [])
    assert (pair.rule, pair.detail) == ("weights", "same weights URL")


def test_the_same_sha256_prefix_pairs_files_at_other_urls():
    a = [card("MixNet-L", weights="https://mirror.example/weights/mixnet_l-5a9a2ed8.pth")]
    b = [card("mixnet_l", weights=f"{RELEASES}/mixnet_l-5a9a2ed8.pth"), card("mixnet_m")]
    [pair] = match_models(a, b, [])
    assert (pair.b.name, pair.rule, pair.detail) == ("mixnet_l", "weights", "sha256 5a9a2ed8")


def test_a_hash_the_card_publishes_counts_and_a_longer_one_matches_its_prefix():
    digest = "5a9a2ed8" + "0" * 56
    published = ModelCard("paper-L", extra={"Metadata": {"SHA256": digest}}, figures={"params": 1})
    assert weights_identity(published) == (None, digest)
    b = [card("mixnet_l", weights=f"{RELEASES}/mixnet_l-5a9a2ed8.pth")]
    assert rules(match_models([published], b, [])) == [("paper-L", "mixnet_l", "weights")]


def test_weights_named_by_several_models_pair_none_and_say_so():
    url = f"{RELEASES}/mixnet_l-5a9a2ed8.pth"
    notes: list[str] = []
    pairs = match_models(
        [card("L", weights=url)], [card("x", weights=url), card("y", weights=url)], notes
    )
    assert pairs == [] and notes == ["L: same weights URL is named by x, y; not paired"]


def test_weights_do_not_pair_a_model_its_name_already_paired():
    url = f"{RELEASES}/mixnet_l-5a9a2ed8.pth"
    pairs = match_models([card("m", weights=url)], [card("m"), card("other", weights=url)], [])
    assert rules(pairs) == [("m", "m", "name")]


# ------------------------------------------------------------------------ --match lines


def test_match_lines_pair_what_no_rule_does_either_way_round_and_one_to_many():
    a = [card("MixNet-S"), card("MixNet-M")]
    b = [card("mixnet_s"), card("tf_mixnet_s"), card("mixnet_m")]
    lines = [line("MixNet-S", "mixnet_s", 1), line("MixNet-S", "tf_mixnet_s", 2),
             line("mixnet_m", "MixNet-M", 3)]  # fmt: skip
    pairs = match_models(a, b, [], lines=lines)
    assert rules(pairs) == [
        ("MixNet-S", "mixnet_s", "match"),
        ("MixNet-S", "tf_mixnet_s", "match"),
        ("MixNet-M", "mixnet_m", "match"),
    ]
    assert [pair.detail for pair in pairs] == ["m.csv:1", "m.csv:2", "m.csv:3"]


def test_a_line_for_a_model_already_paired_otherwise_is_not_used_and_said():
    notes: list[str] = []
    warnings: list[str] = []
    lines = [line("m", "other", 1), line("m", "m", 2)]
    pairs = match_models([card("m")], [card("m"), card("other")], notes, lines=lines,
                         warnings=warnings)  # fmt: skip
    assert rules(pairs) == [("m", "m", "name")]
    assert warnings == ["m.csv:1: m,other not used: m is already paired with m (same name)"]
    assert notes == ["m.csv:2: m and m are already paired (same name)"]


def test_a_name_on_neither_side_is_a_warning_with_the_closest_name():
    warnings: list[str] = []
    pairing = line("MixNet-L", "mixnet_xl", 6)  # one line pairs: the others are warnings
    lines = [line("MixNet-XL", "mixnet_xl", 4), line("foo", "bar", 5), pairing]
    match_models([card("MixNet-L")], [card("mixnet_xl")], [], lines=lines, warnings=warnings,
                 label_a="paper", label_b="index")  # fmt: skip
    assert warnings == [
        "m.csv:4: MixNet-XL,mixnet_xl pairs nothing: 'MixNet-XL' is not in paper "
        "(did you mean 'MixNet-L'?)",
        "m.csv:5: foo,bar pairs nothing: neither 'foo' nor 'bar' is in paper or index",
    ]


def test_a_match_file_none_of_whose_lines_pairs_is_bad_input():
    lines = [line("MixNet-XL", "mixnet_xl", 4), line("foo", "bar", 5)]
    with pytest.raises(InputError, match="none of its 2 line"):
        match_models([card("MixNet-L")], [card("mixnet_xl")], [], lines=lines, warnings=[],
                     label_a="paper", label_b="index")  # fmt: skip


def test_a_match_name_without_a_tag_stands_for_its_one_tagged_model():
    warnings: list[str] = []
    b = [card("mixnet_s.ft_in1k"), card("mixnet_xl.ra_in1k"), card("mixnet_xl.other")]
    lines = [line("MixNet-S", "mixnet_s", 1), line("MixNet-XL", "mixnet_xl", 2)]
    pairs = match_models([card("MixNet-S"), card("MixNet-XL")], b, [], lines=lines,
                         warnings=warnings)  # fmt: skip
    assert rules(pairs) == [("MixNet-S", "mixnet_s.ft_in1k", "match")]
    assert warnings == [
        "m.csv:2: MixNet-XL,mixnet_xl pairs nothing: 'mixnet_xl' stands for several models of B "
        "(mixnet_xl.other, mixnet_xl.ra_in1k): name one"
    ]


def test_each_pair_says_its_rule_in_the_report_and_its_json():
    a = [card("mixnet_s"), card("mixnet_xl"), card("MixNet-L")]
    b = [card("mixnet_s"), card("mixnet_xl.ra_in1k"), card("mixnet_l")]
    report = diff_sources(a, b, match_lines=[line("MixNet-L", "mixnet_l", 7)])
    assert report.pairs == [("mixnet_s", "mixnet_s"), ("mixnet_xl", "mixnet_xl.ra_in1k"),
                            ("MixNet-L", "mixnet_l")]  # fmt: skip
    assert [pair["rule"] for pair in report.to_dict()["pairs"]] == ["name", "tag", "match"]
    assert report.pairing_lines() == [
        "1 by same name",
        "1 by timm tag: mixnet_xl = mixnet_xl.ra_in1k",
        "1 by --match: MixNet-L = mixnet_l (m.csv:7)",
    ]


def test_when_nothing_pairs_the_closest_names_are_given():
    archive = read_pwc_archive(FIXTURE).cards
    report = diff_sources(archive, list(load_index()))
    assert report.pairs == [] and report.compared_nothing
    assert report.closest == [("MixNet-S", "mixnet_s"), ("MixNet-M", "mixnet_m"),
                              ("MixNet-L", "mixnet_l")]  # fmt: skip
    assert report.only_a == ["MixNet-S", "MixNet-M", "MixNet-L"] and len(report.only_b) == 7
    assert closest_pairs(["resnet50"], ["mixnet_s"]) == []


def test_the_paper_rows_pair_with_the_packaged_cards_field_by_field():
    lines = [line(f"MixNet-{size}", f"mixnet_{size.lower()}", n) for n, size in enumerate("SML", 1)]
    report = diff_sources(read_pwc_archive(FIXTURE).cards, list(load_index()), match_lines=lines)
    assert len(report.pairs) == 3 and not report.ok
    found = {(c.model_a, c.field): (c.a, c.b, c.agree) for c in report.comparisons}
    assert found[("MixNet-S", "FLOPs")] == (256_000_000, 321_264_910, False)
    assert found[("MixNet-S", "top1 (ImageNet)")] == (75.8, 75.99, False)
    assert found[("MixNet-S", "params")] == (4_100_000, 4_130_000, True)  # at 4.1M's rounding
    assert found[("MixNet-L", "top5 (ImageNet)")] == (94.2, 94.18, True)


# ------------------------------------------------------------------------ the match file


def test_a_match_file_with_header_comments_quotes_and_crlf(tmp_path):
    path = tmp_path / "m.csv"
    path.write_bytes(
        b"\xef\xbb\xbf# paper name, card name\r\nA,B\r\n\r\nMixNet-S,mixnet_s  # the PyTorch one\r\n"
        b'"Net, v2",tf_mixnet_s,\r\n'
    )
    assert [(m.a, m.b, m.line) for m in read_match_file(path)] == [
        ("MixNet-S", "mixnet_s", 4),
        ("Net, v2", "tf_mixnet_s", 5),
    ]
    assert read_match_file(write(tmp_path, "n.csv", "x,y\n"))[0].a == "x"  # no header


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("MixNet-S\n", 1, "expected two names"),
        ("a,b\nMixNet-S,mixnet_s,tf_mixnet_s\n", 2, "got 3 field(s)"),
        ("a,b\n,mixnet_s\n", 2, "an empty name"),
        ('x,y\n"a,b\n', 2, "not a CSV line"),
        ("# only a comment\n", None, "no pairs"),
    ],
)
def test_a_bad_match_line_is_bad_input_with_its_file_and_line(tmp_path, text, line, message):
    path = write(tmp_path, "m.csv", text)
    with pytest.raises(IndexProblems) as raised:
        read_match_file(path)
    [problem] = raised.value.problems
    assert (problem.file, problem.line) == (str(path), line) and message in problem.message
    assert "A name,B name" in raised.value.hint


def test_a_missing_match_file_is_bad_input(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_match_file(tmp_path / "nowhere.csv")


NAMES = (
    st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=12)
    .map(str.strip)
    .filter(lambda name: name and not name.startswith("#"))
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(NAMES, NAMES), min_size=1, max_size=6), st.booleans(), st.booleans())
def test_any_names_written_as_csv_read_back(pairs, header, comments):
    # a first line of two header words (a,b / from,to) is a header: documented, not tested here
    assume(header or not all(normalise_key(name) in HEADER_WORDS for name in pairs[0]))
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    if header:
        out.write("name_a,name_b\n")
    for a, b in pairs:
        if comments:
            out.write("# a comment, with a comma\n\n")
        writer.writerow([a, b])
    problems: list[Problem] = []
    read = parse_match_lines(out.getvalue(), "m.csv", problems)
    assert problems == [] and [(m.a, m.b) for m in read] == pairs


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_any_text_gives_pairs_or_problems_never_a_crash(text):
    problems: list[Problem] = []
    read = parse_match_lines(text, "m.csv", problems)
    assert all(m.a and m.b for m in read)
    assert all(problem.line and problem.file == "m.csv" for problem in problems)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "m.csv"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            read_match_file(path)
        except InputError as error:  # IndexProblems is one
            assert error.lines()
