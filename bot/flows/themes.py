"""Themes: the recurring topics of what people wrote, found offline and explainable.

Seeds 000 and 002 ask the CIO to *listen first*; most answers are free text, and a list of
answers does not tell which topics recur. This finds them with plain Python (no model, no
download, nothing leaves the machine; why not scikit-learn or YAKE: `docs/themes.md`):

1. Each answer is cut into words (letters of any script, with hyphens and
   apostrophes inside a word), after taking out links and e-mail addresses; emoji,
   figures and punctuation are not words. Words are case-folded and a plural folds to its
   singular ("Policies" and "policy", "tools" and "tool"); an acronym typed in capitals
   ("IP", "HR") is kept as it is, so "IP" is not "ip".
2. Stop words ("the", "we", "really") split an answer into runs; every run of one to three
   words is a candidate ("records retention", "support forum"). A candidate made only of the
   question's own words, or of the bot's vocabulary ("social"), is not a theme: it says
   what was asked, not what was heard.
3. A candidate is a theme when at least two people wrote it. A shorter one that mostly
   appears inside a longer one gives way to it ("retention" to "records retention"), and a
   longer one mostly inside a shorter theme already chosen is left out ("Twitter
   complaints" under "Twitter").
4. Each theme says how many people and answers raised it, which conversations and groups,
   and two or three quotes that contain it (so no theme is invented: the quotes are the
   evidence), chosen from different conversations first, then different groups. An
   anonymous answer's quote never carries an author.

Everything is ordered by figures, then by text, so the same answers give the same themes.
Cost is linear in the text: one pass to cut words, one over each answer's candidates.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from bot.flows.themes_model import Theme, ThemeQuote

#: A theme is a topic at least this many people wrote about.
MIN_PEOPLE = 2
#: Candidates are runs of one to this many words.
MAX_WORDS = 3
#: How many themes a list shows at most, by default.
DEFAULT_LIMIT = 8
#: Quotes per theme.
QUOTES = 3
#: A quote longer than this is cut around its theme (a 4,000-character answer stays readable).
QUOTE_CHARS = 240
#: One common word counts for this share of its people when themes are ranked.
_COMMON_WORD = 0.5
#: A shorter candidate gives way to a longer one holding it in this share of its answers.
_GIVES_WAY = 0.6
#: A candidate is left out when a chosen theme it overlaps already covers this share of it.
_COVERED = 0.75

_LINK = re.compile(r"(?:https?://|www\.)\S+|\S+@\S+\.\w+", re.IGNORECASE)
_RIGHT_QUOTE = "\u2019"  # typed for an apostrophe by phones and word processors
_WORD = re.compile(r"[^\W\d_]+(?:[-'" + _RIGHT_QUOTE + r"][^\W\d_]+)*")
_ACRONYM = re.compile(r"^[A-Z]{2,5}s?$")


# English function words and fillers: they join topics, they are never one.
def _word_list(text: str) -> frozenset[str]:
    return frozenset(text.split())


STOP_WORDS = _word_list(
    """
    a about above across after again against ago all almost along already also although
    always am among an and another any anybody anyone anything anyway anywhere are aren't
    around as ask asked asking at away back be became because become been before being
    below beside best better between beyond both but by can can't cannot could couldn't
    did didn't do does doesn't doing don't done down during each either else enough even
    ever every everybody everyone everything except far few first for from further get
    gets getting give given go goes going gone got had hadn't has hasn't have haven't
    having he her here hers herself him himself his how however i i'd i'll i'm i've if in
    instead into is isn't it it's its itself just keep kept know known last later least
    less let let's like likely lot lots made make makes making many may maybe me mean
    might mine more most mostly much must my myself near need needs needed neither never
    new next no nobody none nor not nothing now of off often ok okay on once one only
    onto or other others otherwise our ours ourselves out over own per perhaps please
    put quite rather really right said same say says see seem seems seen several shall
    she should shouldn't since so some somebody someone something sometimes somewhat soon
    still such sure take taken tell than that that's the their theirs them themselves
    then there there's these they they'd they'll they're they've thing things think this
    those though through thus till to together too took toward towards try trying two
    under unless until up upon us use used uses using very via want wants was wasn't way
    ways we we'd we'll we're we've well went were weren't what what's whatever when
    where whether which while who whoever whole whom whose why will with within without
    won't would wouldn't yes yet you you'd you'll you're you've your yours yourself
    yourselves week weeks month months day days round year years today
    """
)

# The bot's own vocabulary: every conversation is about these, so they say nothing.
DOMAIN_WORDS = _word_list(
    "social business strategy conversation conversations company organisation "
    "organization hearing hear heard answer answers question questions people team "
    "staff everyone nobody"
)


@dataclass(frozen=True)
class Said:
    """One free-text answer, as themes see it.

    `person` tells people apart (never shown: in an anonymous conversation it is an
    opaque key); `author` is the name shown with a quote, None when anonymous.
    """

    text: str
    person: str
    conversation_key: str
    conversation_title: str
    question_id: str
    question_text: str = ""
    group_key: str | None = None
    group_title: str | None = None
    author: str | None = None
    round_number: int | None = None


class _Token(NamedTuple):  # a tuple: millions are made for 100,000 answers
    key: str  # folded: case and plural
    surface: str  # as typed
    start: int
    end: int


@lru_cache(maxsize=100_000)  # answers repeat their words: fold each spelling once
def fold(word: str) -> str:
    """A word's key: case-folded and singular ("Policies" → "policy"); acronyms as typed."""
    if _ACRONYM.match(word):
        return word[:-1] if word.endswith("s") else word
    w = word.casefold().replace(_RIGHT_QUOTE, "'")
    if w.endswith("'s"):
        w = w[:-2]
    if len(w) <= 3 or not w.isascii():
        return w
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith(("sses", "shes", "ches", "xes", "zes")):
        return w[:-2]
    if w.endswith(("ss", "us", "is", "os")):
        return w
    if w.endswith("s"):
        return w[:-1]
    return w


def words(text: str) -> list[_Token]:
    """The words of a text, with their place in it (links and e-mail addresses left out)."""
    out = []
    cleaned = _LINK.sub(lambda m: " " * len(m.group()), text)
    for m in _WORD.finditer(cleaned):
        surface = m.group()
        out.append(_Token(fold(surface), surface, m.start(), m.end()))
    return out


@lru_cache(maxsize=100_000)
def _is_stop(surface: str, key: str) -> bool:
    if _ACRONYM.match(surface):
        # "IP" stays a word; "IT", "WE" and "OK" typed in capitals are still stop words.
        return key.casefold() in STOP_WORDS or key == "OK"
    return key in STOP_WORDS or len(key) < 2 or (len(key) < 3 and key.isascii())


def _question_words(question: str) -> frozenset[str]:
    return frozenset(t.key.casefold() for t in words(question))


@dataclass
class _Candidate:
    key: tuple[str, ...]
    answers: set[int]
    surfaces: Counter[str]  # as typed
    inside: Counter[str]  # as typed inside a sentence
    spans: dict[int, tuple[int, int]]  # answer -> its first place in the text
    named: int = 0  # times typed with a capital inside a sentence (a name: "Trello")

    @property
    def specific(self) -> bool:
        """Several words, or a name: more telling than one common word ("slow")."""
        return len(self.key) > 1 or self.named > 0


def candidates(
    text: str, asked: frozenset[str] = frozenset()
) -> list[tuple[tuple[str, ...], int, int]]:
    """Each candidate of one answer: (its words' keys, start, end), in the order written."""
    runs: list[list[_Token]] = [[]]
    for token in words(text):
        if _is_stop(token.surface, token.key):
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(token)
    out = []
    for run in runs:
        if not run:
            continue
        keys = [t.key for t in run]
        plain = [k.casefold() for k in keys]
        domain = [p in DOMAIN_WORDS for p in plain]
        known = [d or p in asked for d, p in zip(domain, plain, strict=True)]
        for size in range(1, MAX_WORDS + 1):
            for i in range(len(run) - size + 1):
                j = i + size - 1
                if all(known[i : j + 1]):
                    continue  # only what was asked: not something heard
                if domain[i] or domain[j]:
                    continue
                out.append((tuple(keys[i : j + 1]), run[i].start, run[j].end))
    return out


def find_themes(
    said: Sequence[Said], *, limit: int = DEFAULT_LIMIT, min_people: int = MIN_PEOPLE
) -> tuple[Theme, ...]:
    """The recurring topics of these answers, most people first.

    Args:
        said: the free-text answers (any conversations, rounds and groups).
        limit: how many themes at most.
        min_people: how many people must have written a topic for it to be a theme.

    Returns:
        The themes, each with its people, conversations, groups and quotes; none for no
        text, or for text in which no topic recurs.
    """
    # candidate -> answer -> where it first stands in that answer
    found: dict[tuple[str, ...], dict[int, tuple[int, int]]] = {}
    asked_cache: dict[str, frozenset[str]] = {}
    for index, answer in enumerate(said):
        if not answer.text.strip():
            continue
        asked = asked_cache.get(answer.question_text)
        if asked is None:
            asked = asked_cache[answer.question_text] = _question_words(answer.question_text)
        for keys, start, end in candidates(answer.text, asked):
            spans = found.get(keys)
            if spans is None:
                found[keys] = {index: (start, end)}
            elif index not in spans:
                spans[index] = (start, end)
    recurring: dict[tuple[str, ...], _Candidate] = {}
    people: dict[tuple[str, ...], set[str]] = {}
    for keys, spans in found.items():
        if len(spans) < min_people:
            continue  # fewer answers than people needed: not worth counting people
        who = {said[i].person for i in spans}
        if len(who) >= min_people:
            recurring[keys] = _candidate(keys, spans, said)
            people[keys] = who
    chosen = _choose(recurring, people, said, limit)
    return tuple(_theme(c, people[c.key], said) for c in chosen)


def _candidate(
    keys: tuple[str, ...], spans: dict[int, tuple[int, int]], said: Sequence[Said]
) -> _Candidate:
    """A recurring candidate with how it was typed (once per answer, where it first stands)."""
    cand = _Candidate(keys, set(spans), Counter(), Counter(), spans)
    for index, (start, end) in spans.items():
        text = said[index].text
        surface = " ".join(text[start:end].split())
        cand.surfaces[surface] += 1
        if not _sentence_start(text, start):
            # Inside a sentence, a capital means a name ("Trello"); opening one, not.
            cand.inside[surface] += 1
            if surface != surface.casefold():
                cand.named += 1
    return cand


def _sentence_start(text: str, at: int) -> bool:
    before = text[:at].rstrip()
    return not before or before[-1] in ".!?:;\n•-*(\"'"


def _contains(longer: tuple[str, ...], shorter: tuple[str, ...]) -> bool:
    n = len(shorter)
    return len(longer) > n and any(longer[i : i + n] == shorter for i in range(len(longer) - n + 1))


def _choose(
    found: dict[tuple[str, ...], _Candidate],
    people: dict[tuple[str, ...], set[str]],
    said: Sequence[Said],
    limit: int,
) -> list[_Candidate]:
    # A shorter candidate mostly written inside a longer recurring one gives way to it.
    by_word: dict[str, list[_Candidate]] = defaultdict(list)
    for cand in found.values():
        for key in set(cand.key):
            by_word[key].append(cand)
    kept = []
    for cand in found.values():
        longer = [
            other
            for other in by_word[cand.key[0]]
            if _contains(other.key, cand.key)
            and len(other.answers) >= _GIVES_WAY * len(cand.answers)
        ]
        if not longer:
            kept.append(cand)

    def rank(c: _Candidate) -> tuple[float, int, int, int, int, str]:
        # One common word weighs half: "Twitter" and "records retention" before "slow".
        convs = {said[i].conversation_key for i in c.answers}
        weight = len(people[c.key]) * (1.0 if c.specific else _COMMON_WORD)
        return (
            -weight,
            -len(people[c.key]),
            -len(convs),
            -len(c.answers),
            -len(c.key),
            " ".join(c.key),
        )

    kept.sort(key=rank)
    chosen: list[_Candidate] = []
    for cand in kept:
        if len(chosen) >= limit:
            break
        covered = any(
            (_contains(cand.key, c.key) or _contains(c.key, cand.key))
            and len(cand.answers & c.answers) >= _COVERED * len(cand.answers)
            for c in chosen
        )
        if not covered:
            chosen.append(cand)
    return chosen


def _theme(cand: _Candidate, who: set[str], said: Sequence[Said]) -> Theme:
    answers = sorted(cand.answers)
    conversations: dict[str, str] = {}
    groups: dict[str, str] = {}
    for i in answers:
        a = said[i]
        conversations.setdefault(a.conversation_key, a.conversation_title)
        if a.group_key:
            groups.setdefault(a.group_key, a.group_title or a.group_key)
    label = _label(cand)
    return Theme(
        key="-".join(k.casefold() for k in cand.key),
        label=label,
        people=len(who),
        answers=len(answers),
        conversations=tuple(sorted(conversations)),
        conversation_titles=tuple(conversations[k] for k in sorted(conversations)),
        groups=tuple(sorted(groups)),
        group_titles=tuple(groups[k] for k in sorted(groups)),
        quotes=tuple(_quotes(cand, answers, said)),
    )


def _label(cand: _Candidate) -> str:
    """How people typed it, as the theme's label.

    Most often inside a sentence (where case means something), then most often at all; of
    equals, not shouted in capitals, then with a capital (a name).
    """

    def rank(surface: str) -> tuple[int, int, bool, bool, str]:
        shouted = surface.isupper() and not all(_ACRONYM.match(w) for w in surface.split())
        return (
            -cand.inside[surface],
            -cand.surfaces[surface],
            shouted,
            surface == surface.casefold(),
            surface,
        )

    return min(cand.surfaces, key=rank)


def _quotes(cand: _Candidate, answers: Iterable[int], said: Sequence[Said]) -> list[ThemeQuote]:
    """Up to three answers holding the theme: other conversations first, then other groups."""
    pool = sorted(answers, key=lambda i: (len(said[i].text) > QUOTE_CHARS, i))
    picked: list[int] = []
    for distinct in ("conversation", "group", None):
        for i in pool:
            if len(picked) >= QUOTES:
                break
            if i in picked:
                continue
            a = said[i]
            if any(said[j].person == a.person for j in picked):
                continue
            if distinct == "conversation" and any(
                said[j].conversation_key == a.conversation_key for j in picked
            ):
                continue
            if distinct == "group" and any(said[j].group_key == a.group_key for j in picked):
                continue
            picked.append(i)
    out = []
    for i in picked:
        a = said[i]
        start, end = cand.spans[i]
        out.append(
            ThemeQuote(
                text=excerpt(a.text, start, end),
                author=a.author,
                conversation_key=a.conversation_key,
                conversation_title=a.conversation_title,
                group_title=a.group_title,
            )
        )
    return out


def excerpt(text: str, start: int, end: int, *, width: int = QUOTE_CHARS) -> str:
    """The answer as written, or, when long, the part around [start, end) with "…" marks."""
    flat = text.strip()
    if len(flat) <= width:
        return " ".join(flat.split())
    offset = len(text) - len(text.lstrip())
    start, end = start - offset, end - offset
    room = max(width - (end - start), 0)
    left = max(start - room // 2, 0)
    right = min(left + width, len(flat))
    left = max(right - width, 0)
    # Cut at spaces, not in the middle of a word.
    if left > 0:
        space = flat.find(" ", left, start)
        left = space + 1 if space != -1 else left
    if right < len(flat):
        space = flat.rfind(" ", end, right)
        right = space if space != -1 else right
    part = " ".join(flat[left:right].split())
    return ("…" if left > 0 else "") + part + ("…" if right < len(flat) else "")
