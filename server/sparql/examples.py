"""The example queries of queries/*.rq, with their titles and questions.

The example queries of queries/*.rq, with the title and question from their header comments."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Example:
    slug: str
    title: str
    question: str
    text: str


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
        return cls(tuple(read_example(path) for path in sorted(directory.glob("*.rq"))))
