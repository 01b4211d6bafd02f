"""A model that states its prompt grammar gets it shown and its words completed in the prompt;
other models get a neutral hint. The grammar comes from the model's rfedit.json."""

from __future__ import annotations

import json

import pytest
from ai_window import ai_window_fixture  # noqa: F401  (the ai_window fixture)
from PySide6.QtCore import Qt

from rfedit_desktop.demo.dataset import all_captions, parse_caption
from rfedit_desktop.engine.prompt_grammar import prompt_grammar
from rfedit_desktop.errors import EditError
from rfedit_desktop.paths import demo_model_dir
from rfedit_desktop.ui.edit_panel import NEUTRAL_PROMPT_HINT


def demo_grammar() -> dict:
    settings = json.loads((demo_model_dir() / "rfedit.json").read_text(encoding="utf-8"))
    return prompt_grammar(settings)


def test_the_demo_model_states_the_grammar_it_was_trained_on() -> None:
    grammar = demo_grammar()
    parse_caption(grammar["example"])  # the example is one of its captions
    words = set(grammar["words"])
    assert all(set(c.split()) <= words for c in all_captions())
    assert prompt_grammar({}) is None


@pytest.mark.parametrize("bad", ["a red star", {"example": "", "words": []},
                                 {"example": "a red star", "words": "red star"},
                                 {"example": "a red star", "words": ["red", 3]},
                                 {"example": "a red star", "words": ["two words"]}])
def test_a_malformed_grammar_is_refused_with_its_name(bad) -> None:
    with pytest.raises(EditError, match="prompt_grammar"):
        prompt_grammar({"prompt_grammar": bad})


def load(qtbot, window, extra: dict) -> None:
    window.engine.info_extra = extra
    ready = []
    window.ai.service.model_ready.connect(ready.append)
    window.ai.load_model()
    qtbot.waitUntil(lambda: bool(ready), timeout=10_000)


def test_the_grammar_is_shown_and_its_words_complete(qtbot, ai_window) -> None:
    panel = ai_window.ai.panel
    assert "lighthouse" not in panel.prompt_edit.placeholderText()
    load(qtbot, ai_window, {"prompt_grammar": demo_grammar()})
    edit = panel.prompt_edit
    assert "a large red circle on a blue gradient background" in edit.placeholderText()
    assert "triangle" in edit.toolTip()
    edit.setFocus()
    qtbot.waitUntil(edit.hasFocus, timeout=2000)
    qtbot.keyClicks(edit, "a large re")
    popup = edit.completer.popup()
    qtbot.waitUntil(popup.isVisible, timeout=2000)
    assert edit.completer.currentCompletion() == "red"
    qtbot.keyClick(popup, Qt.Key.Key_Return)
    assert edit.toPlainText() == "a large red "
    qtbot.keyClicks(edit, "tri")
    qtbot.waitUntil(popup.isVisible, timeout=2000)
    qtbot.keyClick(popup, Qt.Key.Key_Enter)
    assert edit.toPlainText() == "a large red triangle "


def test_a_model_without_a_grammar_gets_a_neutral_hint(qtbot, ai_window) -> None:
    load(qtbot, ai_window, {})
    edit = ai_window.ai.panel.prompt_edit
    assert edit.placeholderText() == NEUTRAL_PROMPT_HINT
    edit.setFocus()
    qtbot.waitUntil(edit.hasFocus, timeout=2000)
    qtbot.keyClicks(edit, "a la")
    assert not edit.completer.popup().isVisible()
    assert edit.toPlainText() == "a la"
