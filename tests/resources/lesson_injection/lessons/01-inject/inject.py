# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: inject
#     title: Injections that must not run
#     level: beginner
#     minutes: 10
#     objectives: [Show that lesson content never runs in a page]
# ---

# %% [markdown] slideshow={"slide_type": "slide", "data": {"background-iframe": "evil.html", "background_interactive": "true", "notes": "<iframe src=evil.html></iframe>", "onclick": "alert('data')", "background-color": "#eef2f7"}}
# # Nothing here runs
#
# <script src="evil.js"></script><script>alert('markdown script')</script>
#
# <img src="chart.png" onload="alert('markdown onload')" alt="chart">
# <img src="chart.png#broken" onerror="alert('markdown onerror')" alt="chart again">
#
# <iframe src="evil.html"></iframe> <object data="evil.html"></object> <embed src="evil.html">
#
# [a javascript: link](javascript:alert('link')) and math: $\href{javascript:alert('katex')}{x}$

# %% [markdown] slideshow={"slide_type": "notes"}
# Speaker notes <img src="chart.png" onload="alert('notes')" alt="n"> <iframe src="evil.html"></iframe>

# %% [markdown]
# ## More markup
#
# <svg onload="alert('svg')"><script>alert('svg script')</script></svg>
#
# <meta http-equiv="refresh" content="0;url=evil.html"> <base href="http://evil.example/">
#
# <style>@import url(http://evil.example/x.css); p { background: url(http://evil.example/p.png) }</style>
#
# <p style="background-image: url(http://evil.example/i.png)">styled</p>
#
# ![remote](http://evil.example/track.png) <img src="//evil.example/t.png" alt="t">

# %% [markdown] slideshow={"slide_type": "slide"}
# # Outputs

# %%
from IPython.display import Javascript, display

PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNg+M/AAAAFAAIBpdm0"
    "DAAAAABJRU5ErkJggg=="
)
SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8" onload="alert(1)">'
    '<script>alert("svg output")</script></svg>'
)
display({"text/vnd.mermaid": '<script src="evil.js"></script>'}, raw=True)
display({"text/html": "<script src='evil.js'></script><b>html output</b>"}, raw=True)
display({"application/javascript": "alert('javascript output')"}, raw=True)
display(Javascript("alert('Javascript object')"))
display({"application/x-evil": "<script>alert('unknown type')</script>"}, raw=True)
display(
    {"image/png": PNG},
    metadata={"image/png": {"width": "1 onload=alert('width')", "height": 40}},
    raw=True,
)
display({"image/png": PNG}, metadata={"height": "2 onload=alert('height')"}, raw=True)
display({"image/svg+xml": SVG}, raw=True)
display({"text/markdown": "<img src='chart.png' onload=\"alert('markdown output')\">"}, raw=True)
display({"text/latex": "$x^2$</div><script>alert('latex')</script>"}, raw=True)
display({"application/vnd.jupyter.widget-view+json": {"model_id": "m1"}}, raw=True)
print("every payload above was displayed")
