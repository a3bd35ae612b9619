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
