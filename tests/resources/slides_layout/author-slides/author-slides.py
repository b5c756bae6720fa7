# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: author-slides
#     title: Broadcasting, slide by slide
#     level: intermediate
#     minutes: 20
# ---

# %% [markdown] slideshow={"slide_type": "slide"}
# # Broadcasting, slide by slide
#
# This lesson was written with slides in mind: every slide boundary below is the author's.

# %% [markdown] slideshow={"slide_type": "notes"}
# Ask who has seen "operands could not be broadcast together".

# %% slideshow={"slide_type": "skip"}
import numpy as np

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Same shape

# %%
a = np.arange(6).reshape(2, 3)
a + a

# %% [markdown] slideshow={"slide_type": "fragment"}
# Element by element, as you would expect.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## A slide that grew too long
#
# The author kept adding examples to this slide; it no longer fits one screen.

# %%
row = np.array([10, 20, 30])
a + row

# %%
column = np.array([[100], [200]])
a + column

# %%
grid = np.arange(12).reshape(4, 3)
for k in range(4):
    print(f"row {k}: {grid[k]} + {row} = {grid[k] + row}")

# %%
big = np.arange(40).reshape(10, 4)
big * np.array([1, 10, 100, 1000])

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Take home
#
# Shapes are compared from the right; a dimension of 1 stretches.
