# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: welcome                # lower-case letters, digits and '-'; default: the file name
#     title: "Welcome"           # shown on slides, the index page and in bundles
#     level: beginner            # beginner | intermediate | advanced
#     minutes: 20                # teaching time, used for tracks and event programmes
#     tags: [python]             # free-form; tracks can select lessons by tag
#     requires: []               # ids of lessons this one builds on, e.g. [numpy-basics]
#     objectives:                # what attendees can do afterwards; shown on the index page
#       - Run a cell and read its output
#       - Fill in an exercise
#     kind: lesson               # lesson | talk | lightning (for event programmes)
#     resources: {gpu: false}    # true: skipped, clearly, where no GPU is visible
# ---

# %% [markdown]
# # Welcome
#
# A `# %% [markdown]` cell is a markdown cell: every line starts with `# `.
# With no `slideshow` metadata anywhere, each `#` heading starts a slide and each
# `##` heading a sub-slide.

# %% tags=["parameters"]
# The `parameters` cell: `workshopkit run -p quick=True` replaces these values,
# so CI can run a quick version of the lesson.
quick = False
n_points = 20 if quick else 200

# %% [markdown] slideshow={"slide_type": "notes"}
# Speaker notes: press `s` in the slides to see them. Left out of the learner notebook.

# %% [markdown]
# ## Code and its output
#
# Every code cell runs when the workshop is built, so the example is proven to work.

# %%
squares = [i * i for i in range(n_points)]
print(f"{len(squares)} squares, the largest is {squares[-1]}")

# %% [markdown]
# ## Your turn
#
# Complete `mean` so that it returns the average of a list of numbers.

# %% tags=["exercise"]
def mean(values):
    # The learner notebook replaces the region between the markers with a stub
    # (nbgrader's `### BEGIN SOLUTION` works too; `check` reports a misspelt marker).
    # BEGIN SOLUTION
    return sum(values) / len(values)
    # END SOLUTION


# %% tags=["solution"]
# A cell tagged `solution` is left out of the learner notebook entirely.
assert mean([1, 2, 3]) == 2
print("mean works:", mean(squares))

# %% tags=["raises-exception"]
# A cell tagged `raises-exception` shows an error on purpose; it does not fail the build.
mean([])
