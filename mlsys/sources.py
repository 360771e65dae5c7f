"""Source records for catalog figures."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    """A primary source for catalog figures: a datasheet, paper or official config."""

    title: str
    publisher: str
    year: int
    url: str
    bibkey: str  # the entry's key in references.bib

    def cite(self) -> str:
        """Format the source as one line for tables and captions."""
        return f"{self.title} ({self.publisher}, {self.year})"
