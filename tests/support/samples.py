"""Questions and a hostile corpus file that the app's tests share."""

IN_SCOPE = "Who leads the coalition of the willing?"
OFF_TOPIC = "Which football team won the 1998 World Cup?"
# A corpus file that tries to inject markup through its title, heading and text.
HOSTILE = (
    'Harbour Manual <i onmouseover="window.__xss=7">tides</i>\n'
    "Bells <img src=y onerror=window.__xss=5>\n"
    "The lighthouse keeper rings the harbour bell at dawn <script>window.__xss=1</script> "
    'and again at dusk <img src=x onerror="window.__xss=2">. Nobody else may ring it.\n'
    "Signals\n"
    "Fishing boats come home when the keeper raises a **red flag** over the "
    "[harbour wall](javascript:alert(1)) and $$x^2$$ `code`.\n"
)
HOSTILE_QUESTION = "When does the lighthouse keeper ring the harbour bell?"

# A Word file about something no other test corpus mentions, and the question only it answers.
FERRY_TITLE = "Quendale Ferry Timetable"
FERRY_PARAGRAPHS = (
    (
        "Winter sailings",
        "The Quendale ferry leaves Brindlemoor harbour at 07:40 every weekday during winter.",
    ),
    ("Boarding", "Passengers with bicycles board first through the north gangway."),
)
FERRY_QUESTION = "When does the Quendale ferry leave Brindlemoor harbour?"
FERRY_ANSWER = "07:40 every weekday"


def ferry_docx(extra_paragraphs: int = 0) -> bytes:
    """:data:`FERRY_TITLE` as a real .docx (python-docx), optionally padded with
    ``extra_paragraphs`` distinct paragraphs so that embedding it takes a while."""
    import io

    import docx

    document = docx.Document()
    document.add_heading(FERRY_TITLE, 0)
    for heading, paragraph in FERRY_PARAGRAPHS:
        document.add_heading(heading, 1)
        document.add_paragraph(paragraph)
    if extra_paragraphs:
        document.add_heading("Crossing log", 1)
    for i in range(extra_paragraphs):
        document.add_paragraph(
            f"Crossing {i} carried {i % 97 + 3} cars and {i % 13 + 40} foot passengers "
            f"through {['fog', 'rain', 'calm seas', 'a swell'][i % 4]} on day {i}."
        )
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


BROKEN_PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >>\nthis file was cut off"
