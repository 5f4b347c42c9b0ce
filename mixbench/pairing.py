"""Which model of one source is which model of the other: the rules ``diff`` pairs by.

For each model of A not yet paired, in order:

1. ``name``: the same name on both sides;
2. ``tag``: timm's pretrained tags — ``mixnet_xl.ra_in1k`` pairs with ``mixnet_xl`` when the
   other side has no tag for it (a name matching several tagged models pairs with none);
3. ``weights``: both sides name the same weights file — the same URL, or the same sha256
   prefix (torch.hub's ``mixnet_l-5a9a2ed8.pth``, or a hash the card publishes);
4. ``match``: a line of ``--match FILE``, a two-column CSV of ``A name,B name`` (a header
   line and ``#`` comments allowed; a line written ``B name,A name`` is read the right way).

A line of the match file is the user's word, so it is never passed over silently: a name on
neither side, or a model an earlier rule already paired otherwise, is a warning.

>>> from mixbench.index import ModelCard
>>> [p.rule for p in match_models([ModelCard("m.a")], [ModelCard("m")], [])]
['tag']
"""

from __future__ import annotations

import csv
import difflib
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from mixbench.errors import IndexProblems, InputError, Problem
from mixbench.index.cards import ModelCard
from mixbench.index.documents import display_path, read_text
from mixbench.index.keys import normalise_key
from mixbench.index.weights_url import weights_file

#: each rule's name as reports say it, in the order the rules apply
RULES = {
    "name": "same name",
    "tag": "timm tag",
    "weights": "same weights file",
    "match": "--match",
}
#: a match file is a hand-written list of names; far beyond is not one
MAX_MATCH_BYTES = 1_000_000
#: the first line is a header when both its cells are one of these (normalised)
HEADER_WORDS = frozenset(
    {"a", "b", "from", "to", "left", "right", "model", "name", "source", "target"}
    | {f"{word}_{side}" for word in ("model", "name", "source") for side in "ab"}
    | {f"{side}_{word}" for word in ("model", "name") for side in "ab"}
)
_TRAILING_COMMENT = re.compile(r"(?:^|\s)#.*$")
_HEX = re.compile(r"[0-9a-f]{6,64}")
#: card keys (normalised, in ``extra`` or its ``Metadata``) that may hold the weights' sha256
_HASH_KEYS = frozenset({"sha256", "sha", "weights_sha256", "file_sha256", "hash"})
#: the shortest sha256 prefix that identifies a file (torch.hub writes 8; verify reads 6+)
MIN_HASH_DIGITS = 6


@dataclass(frozen=True)
class MatchLine:
    """One pair of names from a ``--match`` file, with where it is written."""

    a: str
    b: str
    file: str
    line: int

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Pair:
    """Two cards taken for the same model, the rule that paired them and its particulars."""

    a: ModelCard
    b: ModelCard
    rule: str
    detail: str = ""


# ------------------------------------------------------------------------ the match file


def read_match_file(path: str | Path) -> list[MatchLine]:
    """The pairs of a ``--match`` file; every bad line is a problem with its ``file:line``."""
    path = Path(path)
    shown = display_path(path)
    if not path.is_file():
        what = "a folder, not a file" if path.is_dir() else "no such file"
        raise InputError(f"--match {shown}: {what}", hint=_MATCH_HINT)
    text, problems = read_text(path, shown, MAX_MATCH_BYTES, "a match file")
    if text is None:
        raise IndexProblems(problems, hint=_MATCH_HINT)
    lines = parse_match_lines(text, shown, problems)
    if not lines and not problems:
        problems.append(Problem(shown, None, "", "no pairs: expected lines of 'A name,B name'"))
    if problems:
        raise IndexProblems(problems, hint=_MATCH_HINT)
    return lines


_MATCH_HINT = (
    "a match file has one pair a line, 'A name,B name' (e.g. MixNet-S,mixnet_s); "
    "a header line and # comments are allowed"
)


def parse_match_lines(text: str, shown: str, problems: list[Problem]) -> list[MatchLine]:
    """The pairs in ``text``; bad lines are appended to ``problems``."""
    found: list[MatchLine] = []
    first = True
    for number, raw in enumerate(text.splitlines(), 1):
        cells, error = _cells(raw)
        if error:
            problems.append(Problem(shown, number, "", error))
            continue
        if cells is None:
            continue  # blank or a comment
        if first and all(normalise_key(cell) in HEADER_WORDS for cell in cells):
            first = False
            continue
        first = False
        found.append(MatchLine(cells[0], cells[1], shown, number))
    return found


def _cells(raw: str) -> tuple[list[str] | None, str | None]:
    """A line's two names, ``(None, None)`` for a blank or comment line, or the error."""
    line = raw.strip()
    if not line or line.startswith("#"):
        return None, None
    if '"' not in line:  # a quoted name may hold a '#'; otherwise '#' starts a comment
        line = _TRAILING_COMMENT.sub("", line).strip()
    if "\0" in line:
        return None, "a NUL character: not a text line"
    try:
        cells = [cell.strip() for cell in next(csv.reader([line], strict=True))]
    except csv.Error as error:
        return None, f"not a CSV line: {error}"
    while len(cells) > 2 and not cells[-1]:
        cells.pop()  # a trailing comma
    if len(cells) != 2:
        return None, f"expected two names, 'A name,B name'; got {len(cells)} field(s)"
    if not all(cells):
        return None, "an empty name: expected 'A name,B name'"
    return cells, None


# ------------------------------------------------------------------------ the rules


def match_models(
    a: Sequence[ModelCard],
    b: Sequence[ModelCard],
    notes: list[str],
    *,
    lines: Sequence[MatchLine] = (),
    warnings: list[str] | None = None,
    label_a: str = "A",
    label_b: str = "B",
) -> list[Pair]:
    """Pairs of cards taken for the same model, in A's order (see the module docstring).

    Ambiguities and redundant match lines are said in ``notes``; match lines that pair
    nothing, in ``warnings``.
    """
    warnings = [] if warnings is None else warnings
    pairs = _by_name(a, b, notes)
    paired = {id(pair.a) for pair in pairs}
    pairs += _by_weights([card for card in a if id(card) not in paired], b, notes)
    pairs += _by_lines(a, b, lines, pairs, notes, warnings, (label_a, label_b))
    order = {id(card): index for index, card in enumerate(a)}
    return sorted(pairs, key=lambda pair: order[id(pair.a)])


def _untagged(name: str) -> str:
    return name.split(".", 1)[0]


def _by_name(a: Sequence[ModelCard], b: Sequence[ModelCard], notes: list[str]) -> list[Pair]:
    """Rules 1 and 2: the same name, or the same name but for a timm tag one side lacks."""
    by_name: dict[str, list[ModelCard]] = defaultdict(list)
    by_untagged: dict[str, list[ModelCard]] = defaultdict(list)
    for card in b:
        by_name[card.name].append(card)
        by_untagged[_untagged(card.name)].append(card)
    a_names = {card.name for card in a}
    pairs: list[Pair] = []
    for card in a:
        candidates, rule = by_name.get(card.name, []), "name"
        if not candidates and "." not in card.name:
            candidates, rule = by_untagged.get(card.name, []), "tag"
            tags = sorted({c.name for c in candidates})
            if len(tags) > 1:
                listed = ", ".join(tags)
                notes.append(f"{card.name}: several tagged models match ({listed}); not compared")
                continue
        if not candidates and "." in card.name:
            untagged = _untagged(card.name)
            if untagged not in a_names:
                candidates, rule = by_name.get(untagged, []), "tag"
        if candidates:
            pairs.append(Pair(card, same_resolution(card, candidates, notes), rule))
    return pairs


def _by_weights(
    unpaired: Sequence[ModelCard], b: Sequence[ModelCard], notes: list[str]
) -> list[Pair]:
    """Rule 3: the same weights URL, else the same sha256 prefix."""
    by_url: dict[str, list[ModelCard]] = defaultdict(list)
    by_hash: dict[str, list[tuple[str, ModelCard]]] = defaultdict(list)
    for card in b:
        url, digest = weights_identity(card)
        if url:
            by_url[url].append(card)
        if digest:
            by_hash[digest[:MIN_HASH_DIGITS]].append((digest, card))
    pairs: list[Pair] = []
    for card in unpaired:
        url, digest = weights_identity(card)
        found, detail = (by_url.get(url, []), "same weights URL") if url else ([], "")
        if not found and digest:
            candidates = by_hash.get(digest[:MIN_HASH_DIGITS], [])
            found = [c for h, c in candidates if h.startswith(digest) or digest.startswith(h)]
            detail = f"sha256 {digest[: min(len(digest), 12)]}"
        names = sorted({c.name for c in found})
        if len(names) > 1:
            notes.append(f"{card.name}: {detail} is named by {', '.join(names)}; not paired")
        elif names:
            pairs.append(Pair(card, same_resolution(card, found, notes), "weights", detail))
    return pairs


def weights_identity(card: ModelCard) -> tuple[str | None, str | None]:
    """The card's weights URL (scheme, host and path: a query or fragment names no other
    file) and the sha256 (prefix) it publishes, in its URL or as a hash field."""
    url = None
    if card.weights_url:
        parsed = urlparse(card.weights_url.strip())
        if parsed.netloc:
            url = f"{parsed.netloc.lower()}{parsed.path.rstrip('/')}"
    digest = weights_file(card.weights_url)[1] or _published_hash(card)
    return url, digest


def _published_hash(card: ModelCard) -> str | None:
    metadata = card.extra.get("Metadata")
    for mapping in (card.extra, metadata if isinstance(metadata, dict) else {}):
        for key, value in mapping.items():
            if normalise_key(str(key)) in _HASH_KEYS and isinstance(value, str):
                text = value.strip().lower().removeprefix("sha256:")
                if _HEX.fullmatch(text):
                    return text
    return None


def _by_lines(
    a: Sequence[ModelCard],
    b: Sequence[ModelCard],
    lines: Sequence[MatchLine],
    earlier: Sequence[Pair],
    notes: list[str],
    warnings: list[str],
    labels: tuple[str, str],
) -> list[Pair]:
    """Rule 4: the match file's lines, for models no earlier rule paired."""
    names_a, names_b = _names(a), _names(b)
    paired: dict[int, list[Pair]] = defaultdict(list)
    for pair in earlier:
        paired[id(pair.a)].append(pair)
    found: list[Pair] = []
    unused: list[str] = []
    for line in lines:
        oriented = _orient(line, names_a, names_b)
        if oriented is None:
            unused.append(_pairs_nothing(line, names_a, names_b, labels))
            continue
        name_a, name_b = oriented
        for card in names_a[name_a]:
            before = paired[id(card)]
            if any(pair.b.name == name_b for pair in before):
                rule = RULES[before[0].rule]
                notes.append(f"{line.where}: {name_a} and {name_b} are already paired ({rule})")
                continue
            if before and before[0].rule != "match":
                other, rule = before[0].b.name, RULES[before[0].rule]
                warnings.append(
                    f"{line.where}: {name_a},{name_b} not used: {name_a} is already paired "
                    f"with {other} ({rule})"
                )
                continue
            chosen = same_resolution(card, names_b[name_b], notes)
            pair = Pair(card, chosen, "match", line.where)
            paired[id(card)].append(pair)
            found.append(pair)
    if lines and len(unused) == len(lines):
        # a file none of whose lines names a model of each side was not what was meant
        raise InputError(
            f"--match: none of its {len(lines)} line(s) names a model of both sources: "
            + unused[0],
            hint="write 'A name,B name' lines with names as each source spells them "
            "(`mixbench list --index SOURCE` or --json shows them)",
        )
    warnings.extend(unused)
    return found


def _names(cards: Iterable[ModelCard]) -> dict[str, list[ModelCard]]:
    found: dict[str, list[ModelCard]] = defaultdict(list)
    for card in cards:
        found[card.name].append(card)
    return dict(found)


def _orient(
    line: MatchLine, names_a: dict[str, list[ModelCard]], names_b: dict[str, list[ModelCard]]
) -> tuple[str, str] | None:
    """``(A name, B name)`` of a line, written either way round (a name without a timm tag
    stands for the one tagged model of that name: ``mixnet_s`` for ``mixnet_s.ft_in1k``);
    None when it pairs nothing."""
    for first, second in ((line.a, line.b), (line.b, line.a)):
        found_a, found_b = _resolve(first, names_a), _resolve(second, names_b)
        if found_a is not None and found_b is not None:
            return found_a, found_b
    return None


def _resolve(name: str, names: dict[str, list[ModelCard]]) -> str | None:
    if name in names:
        return name
    tagged = _tagged(name, names)
    return tagged[0] if len(tagged) == 1 else None


def _pairs_nothing(
    line: MatchLine,
    names_a: dict[str, list[ModelCard]],
    names_b: dict[str, list[ModelCard]],
    labels: tuple[str, str],
) -> str:
    """What a line that pairs nothing lacks, with the closest names there are."""
    label_a, label_b = labels
    known = {*names_a, *names_b}
    if not {line.a, line.b} & known and not any(_tagged(n, known) for n in (line.a, line.b)):
        missing = [f"neither {line.a!r} nor {line.b!r} is in {label_a} or {label_b}"]
    else:
        # read the way round that finds a name, as written when both ways do
        flipped = not (_resolve(line.a, names_a) or _resolve(line.b, names_b)) and bool(
            _resolve(line.b, names_a) or _resolve(line.a, names_b)
        )
        first, second = (line.b, line.a) if flipped else (line.a, line.b)
        missing = [
            _missing(name, names, label)
            for name, names, label in ((first, names_a, label_a), (second, names_b, label_b))
            if _resolve(name, names) is None
        ]
    return f"{line.where}: {line.a},{line.b} pairs nothing: {'; '.join(missing)}"


def _tagged(name: str, names: Iterable[str]) -> list[str]:
    """The tagged names ``name`` (untagged) stands for."""
    return [] if "." in name else sorted(other for other in names if _untagged(other) == name)


def _missing(name: str, names: dict[str, list[ModelCard]], label: str) -> str:
    tagged = _tagged(name, names)
    if len(tagged) > 1:
        return f"{name!r} stands for several models of {label} ({', '.join(tagged)}): name one"
    close = closest(name, names, limit=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"{name!r} is not in {label}{hint}"


def same_resolution(card: ModelCard, candidates: list[ModelCard], notes: list[str]) -> ModelCard:
    """timm publishes some models at several image sizes: prefer the row at the card's size."""
    if len(candidates) == 1:
        return candidates[0]
    for candidate in candidates:
        if candidate.image_size == card.image_size:
            return candidate
    notes.append(f"{card.name}: no row at {card.image_size} px; compared with the first listed")
    return candidates[0]


# ------------------------------------------------------------------------ when nothing pairs

#: names compared for a hint when nothing pairs (difflib is quadratic; a hint needs a few)
MAX_HINT_NAMES = 300


def _loose(name: str) -> str:
    """``MixNet-S`` and ``mixnet_s`` alike: case, and ``-``/``_``/space/``.``, ignored."""
    return re.sub(r"[\s_.\-]+", "_", name.strip().lower())


def closest(name: str, names: Iterable[str], *, limit: int = 3) -> list[str]:
    """The names closest to ``name`` (case and separators ignored), best first."""
    loose: dict[str, str] = {}
    for candidate in names:
        loose.setdefault(_loose(candidate), candidate)
    found = difflib.get_close_matches(_loose(name), list(loose), n=limit, cutoff=0.6)
    return [loose[match] for match in found]


def closest_pairs(
    a_names: Iterable[str], b_names: Iterable[str], *, limit: int = 3
) -> list[tuple[str, str]]:
    """The A and B names most alike, for a hint when no model pairs (best first)."""
    loose_b: dict[str, str] = {}
    for name in b_names:
        loose_b.setdefault(_loose(name), name)
    candidates = list(loose_b)
    scored: list[tuple[float, str, str]] = []
    for name in list(dict.fromkeys(a_names))[:MAX_HINT_NAMES]:
        match = difflib.get_close_matches(_loose(name), candidates, n=1, cutoff=0.6)
        if match:
            ratio = difflib.SequenceMatcher(None, match[0], _loose(name)).ratio()
            scored.append((ratio, name, loose_b[match[0]]))
    scored.sort(key=lambda item: -item[0])
    return [(name, other) for _, name, other in scored[:limit]]


__all__ = [
    "HEADER_WORDS",
    "RULES",
    "MatchLine",
    "Pair",
    "closest",
    "closest_pairs",
    "match_models",
    "parse_match_lines",
    "read_match_file",
    "same_resolution",
    "weights_identity",
]
