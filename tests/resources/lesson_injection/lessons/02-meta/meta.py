# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: meta-inject
#     title: "</script><script>alert('lesson title')</script>"
#     level: advanced
#     minutes: 10
#     tags: ["<iframe src=evil.html>", "<b>bold</b>"]
#     objectives: ["<img src=x onerror=alert('objective')>"]
# ---

# %% [markdown]
# # Metadata with markup
#
# Its title, tags and objectives are HTML; the pages show them as text.

# %%
print("<script>alert('stdout')</script>")
