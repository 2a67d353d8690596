"""Themes from what people wrote: what a CIO reading them would notice, and bad input."""

from __future__ import annotations

from bench.themes import RECALL_FLOOR, quality, sample_said
from bot.flows.themes import QUOTE_CHARS, Said, find_themes
from tests.flows.theme_samples import TOPICS

QUESTION = "What are you hearing about the social tools people already use?"


def said(
    person: str,
    text: str,
    conversation: str = "social-technologies",
    *,
    anonymous: bool = False,
    group: str = "it",
    question: str = QUESTION,
) -> Said:
    return Said(
        text=text,
        person=person,
        conversation_key=conversation,
        conversation_title=conversation.replace("-", " ").title(),
        question_id="hearing",
        question_text=question,
        group_key=group,
        group_title=group.upper(),
        author=None if anonymous else person.title(),
    )


def labels(answers: list[Said]) -> list[str]:
    return [t.label for t in find_themes(answers)]


def test_the_labelled_sample_finds_what_a_careful_reader_lists() -> None:
    themes = find_themes(sample_said(), limit=len(TOPICS))
    recall, precision, missed, invented = quality(themes)
    assert recall >= RECALL_FLOOR, missed
    assert precision >= 0.8, invented
    twitter = next(t for t in themes if t.label == "Twitter")
    assert twitter.people == 6
    assert len(twitter.conversations) == 5
    # Every theme is backed by quotes that hold it: none is invented.
    for theme in themes:
        assert 2 <= len(theme.quotes) <= 3
        for q in theme.quotes:
            words = theme.label.casefold().split()
            assert all(w.rstrip("s") in q.text.casefold() for w in words), (theme.label, q.text)


def test_multi_word_topics_fold_plural_and_case_variants() -> None:
    themes = find_themes(
        [
            said("ian", "Records retention policies are missing for chat."),
            said("irene", "We keep asking about the records retention policy."),
            said(
                "lena", "RECORDS RETENTION POLICY: nobody owns it", conversation="social-liability"
            ),
        ]
    )
    assert [(t.label, t.people) for t in themes][:1] == [("records retention policy", 3)]
    assert themes[0].conversations == ("social-liability", "social-technologies")
    # The parts of the phrase are not themes of their own.
    assert not {"records", "retention", "policy"} & {t.label.casefold() for t in themes}


def test_stop_words_and_the_questions_own_words_are_not_themes() -> None:
    answers = [
        said(p, f"People already use social tools, and they really like them {n}")
        for n, p in enumerate(["ian", "irene", "bella"])
    ]
    assert labels(answers) == []


def test_one_person_saying_it_twice_is_not_a_theme() -> None:
    answers = [said("ian", "Trello boards everywhere"), said("ian", "More Trello boards again")]
    assert labels(answers) == []


def test_anonymous_quotes_carry_no_author() -> None:
    answers = [
        said("lena", "Personal data in screenshots", "social-liability", anonymous=True),
        said("rick", "personal data in chats", "social-liability", anonymous=True),
        said("ian", "Personal data leaves via WhatsApp"),
    ]
    (theme,) = find_themes(answers)
    assert theme.label.casefold() == "personal data" and theme.people == 3
    authors = {q.conversation_key: q.author for q in theme.quotes}
    assert authors["social-liability"] is None
    assert authors["social-technologies"] == "Ian"


def test_quotes_come_from_other_conversations_and_groups_first() -> None:
    answers = [
        said("a", "Twitter all day", group="it"),
        said("b", "Twitter again", group="it"),
        said("c", "Twitter for sure", group="business"),
        said("d", "Twitter mentions", "social-media", group="marketing"),
    ]
    (theme,) = find_themes(answers)
    assert [q.conversation_key for q in theme.quotes][:2] == ["social-technologies", "social-media"]
    assert {q.group_title for q in theme.quotes} == {"IT", "MARKETING", "BUSINESS"}


def test_the_same_answers_give_the_same_themes_in_any_order() -> None:
    answers = sample_said()
    first = find_themes(answers)
    assert find_themes(answers) == first
    backwards = find_themes(list(reversed(answers)))
    assert [(t.key, t.people, t.conversations) for t in backwards] == [
        (t.key, t.people, t.conversations) for t in first
    ]


def test_empty_and_one_word_answers() -> None:
    assert find_themes([]) == ()
    assert labels([said("a", ""), said("b", "   "), said("c", "\n")]) == []
    assert labels([said("a", "Twitter"), said("b", "twitter."), said("c", "ok")]) == ["Twitter"]


def test_a_4000_character_answer_is_quoted_around_its_theme() -> None:
    long = ("The rollout went fine in most regions and nobody complained much. " * 60)[:3900]
    answers = [
        said("a", long + " But the Yammer migration stalled."),
        said("b", "Yammer migration"),
    ]
    (theme,) = find_themes(answers)
    assert theme.label == "Yammer migration"
    quoted = next(q.text for q in theme.quotes if q.text != "Yammer migration")
    assert len(quoted) <= QUOTE_CHARS + 2
    assert "Yammer migration" in quoted and quoted.startswith("…")


def test_emoji_rtl_code_and_links_stay_sensible() -> None:
    answers = [
        said("a", "🔥🔥🔥 👍"),
        said("b", "👍"),
        # Hebrew and Arabic: the same word in two answers is a theme, shown as written.
        said("c", "הצוות משתמש בוואטסאפ"),
        said("d", "בוואטסאפ כל היום"),
        said("e", "مشكلة الخصوصية في المنصة"),
        said("f", "الخصوصية مهمة"),
        # Links and addresses are not topics, whatever is in them.
        said("g", "see https://trello.com/b/abc123/roadmap and www.example.com/page"),
        said("h", "https://trello.com/b/abc123/roadmap mail ops@example.com"),
        # Code: figures and punctuation are not words.
        said("i", "def f(x): return x ** 2  # 42 {}"),
        said("j", "SELECT 1; -- 42"),
    ]
    got = labels(answers)
    assert "בוואטסאפ" in got and "الخصوصية" in got
    for word in ("https", "trello", "com", "www", "example", "roadmap", "42"):
        assert word not in {g.casefold() for g in got}
