# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: Names used later
#     level: beginner
#     minutes: 10
# ---

# %% tags=["parameters"]
n = 3

# %%
import numpy as np  # noqa: F401

total = 0

# %% tags=["solution"]
w, b = 2.0, 1.0
total = n * 2
for step in range(n):
    pass


def fitted(x):
    return w * x + b


# %%
# `w` and `fitted` were defined only by the solution: NameError for learners (warned)
print(fitted(1.0) + w)
# `total` is also bound by a kept cell; `step` is then rebound here; comprehension and
# function-local names are not the solution's
print(total, [b for b in range(n)], step if (step := 1) else 0)


def local_only(b):
    return b + 1


# %% [markdown] slideshow={"slide_type": "notes"}
# Speaker notes are left out of the learner notebook, and so is this notes code cell:

# %% slideshow={"slide_type": "notes"}
threshold = 0.5

# %%
print(threshold)  # warned: defined only in a speaker-notes cell

# %% tags=["exercise"]
# BEGIN SOLUTION
answer = 42
# END SOLUTION

# %%
print(answer)  # an exercise's region: its stub tells learners to define it, so no warning
