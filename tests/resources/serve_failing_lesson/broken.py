# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: broken
#     title: Broken from the start
#     level: beginner
#     minutes: 5
# ---

# %% [markdown] slideshow={"slide_type": "slide"}
# # An imported notebook
#
# Its author ran it against an older library.

# %%
ratio = 1 / 0
print("ratio", ratio)
