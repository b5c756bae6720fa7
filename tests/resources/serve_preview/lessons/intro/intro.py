# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: intro
#     title: Intro
#     level: beginner
#     minutes: 5
# ---

# %% [markdown] slideshow={"slide_type": "slide"}
# # First slide
#
# Hello there.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Second slide
#
# Text ALPHA on slide two.

# %%
print("output", 1 + 1)
