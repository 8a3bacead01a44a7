"""The example queries of queries/*.rq, with their titles and questions.

The example queries of queries/*.rq, with the title and question from their header comments
(English) and, from queries/titles.toml, in Finnish, Swedish and Chinese."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

TRANSLATIONS = "titles.toml"


@dataclass(frozen=True)
class Example:
    slug: str
    title: str
    question: str
    text: str
    titles: dict[str, str] = field(default_factory=dict)  # language -> title, besides the English one
    questions: dict[str, str] = field(default_factory=dict)

    def title_in(self, language: str) -> tuple[str, str]:
        """The title in a language, or the English one: (text, its language)."""
        return (self.titles[language], language) if language in self.titles else (self.title, "en")

    def question_in(self, language: str) -> tuple[str, str]:
        return (self.questions[language], language) if language in self.questions else (self.question, "en")


def read_example(path: Path) -> Example:
    """Read `# title:` and `# question:` (continued by indented comment lines) from the header."""
    text = path.read_text(encoding="utf-8")
    title, question, in_question = path.stem, [], False
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        body = line[1:].strip()
        if body.lower().startswith("title:"):
            title, in_question = body[6:].strip(), False
        elif body.lower().startswith("question:"):
            question.append(body[9:].strip())
            in_question = True
        elif in_question and line.startswith("#  ") and body:
            question.append(body)
        else:
            in_question = False
    return Example(path.stem, title, " ".join(question), text)


@dataclass(frozen=True)
class Examples:
    """The example queries the query UI offers, in file-name order."""

    items: tuple[Example, ...]

    @classmethod
    def load(cls, directory: Path) -> Examples:
        translations = directory / TRANSLATIONS
        words = tomllib.loads(translations.read_text(encoding="utf-8")) if translations.exists() else {}
        examples = []
        for path in sorted(directory.glob("*.rq")):
            example = read_example(path)
            own = words.get(example.slug, {})
            examples.append(
                Example(
                    example.slug,
                    example.title,
                    example.question,
                    example.text,
                    own.get("title", {}),
                    own.get("question", {}),
                )
            )
        return cls(tuple(examples))
