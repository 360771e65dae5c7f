import re
from pathlib import Path

from mlsys.course import LESSONS
from mlsys.hardware import ACCELERATORS
from mlsys.models import MODELS
from mlsys.tables import hardware_notes, hardware_table, model_notes, model_table

ROOT = Path(__file__).parents[1]
BIB_KEYS = set(re.findall(r"@\w+\{([^,]+),", (ROOT / "references.bib").read_text()))


def test_hardware_table_has_a_row_and_citation_per_chip():
    table = hardware_table()
    for chip in ACCELERATORS.values():
        assert f"| {chip.name} |" in table
        assert f"{{cite:p}}`{chip.source.bibkey}`" in table
    assert "| 990 |" not in table  # peaks are printed in full, not rounded
    assert "989.5" in table


def test_hardware_notes_state_link_direction():
    assert "450 GB/s per direction (quoted as 900 GB/s, both directions summed)" in (
        hardware_notes()
    )


def test_model_table_has_a_row_per_model():
    table = model_table()
    for spec in MODELS.values():
        assert f"| {spec.name} |" in table
    assert "6.74 billion" in table
    assert "128,256" in model_notes()


def test_course_plan_has_twenty_lessons():
    assert [lesson.number for lesson in LESSONS] == list(range(1, 21))


def test_every_published_lesson_has_its_notebook():
    toc = (ROOT / "_toc.yml").read_text()
    assert LESSONS[0].is_published(toc)
    for lesson in LESSONS:
        if lesson.is_published(toc):
            assert (ROOT / "notebooks" / f"{lesson.notebook}.ipynb").is_file()


def test_every_citation_in_notebooks_and_pages_is_in_bibliography():
    sources = list((ROOT / "notebooks").glob("*.ipynb")) + list(
        (ROOT / "book").glob("*.md")
    )
    cited = set()
    for path in sources:
        for keys in re.findall(r"\{cite:[pt]\}`([^`]+)`", path.read_text()):
            cited.update(key.strip() for key in keys.split(","))
    assert cited, "no citations found"
    assert cited <= BIB_KEYS, f"missing from references.bib: {cited - BIB_KEYS}"
