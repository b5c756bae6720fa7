# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: Slides
#     level: beginner
#     minutes: 10
# ---

# %% [markdown] slideshow={"slide_type": "slide"}
# # Slides

# %% [markdown] slideshow={"slide_type": "sldie"}
# Typo

# %% [markdown] slideshow={"slide_type": "title"}
# Unknown

# %% slideshow="fragment"
x = 1
