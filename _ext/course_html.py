"""Sphinx fixes for the built course pages.

sphinx-thebe 0.3.1 registers its inline configuration script once per
`env-before-read-docs` event, and under Jupyter Book 1 with notebook
execution that event can fire twice, so pages declared `THEBE_JS_URL` twice
and raised a JavaScript error. This extension drops repeated script tags.
"""


def _drop_repeated_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen = set()
    unique = []
    for script in scripts:
        # The same inline script arrives once with filename None, once with "".
        key = (script.filename or "", script.attributes.get("body", ""))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    # Run after every other handler, some of which add scripts to the page.
    app.connect("html-page-context", _drop_repeated_scripts, priority=1000)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
