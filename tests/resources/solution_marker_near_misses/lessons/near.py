# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: Near misses
#     level: beginner
#     minutes: 10
# ---

# %% [markdown]
# # Every near miss is an error, none passes silently

# %% tags=["exercise"]
def plural(x):
    # BEGIN SOLUTIONS
    return x + 1  # SECRET-PLURAL
    # END SOLUTIONS


# %% tags=["exercise"]
# BEGINSOLUTION
a = "SECRET-JOINED"
# END_SOLUTION

# %% tags=["exercise"]
b = "SECRET-AFTER-CODE"  # BEGIN SOLUTION
c = 3

# %% tags=["exercise"]
# -- begin solution --
d = "SECRET-DECORATED"

# %%
### BEGIN HIDDEN TESTS
assert plural(1) == 2  # SECRET-HIDDEN-TEST
### END HIDDEN TESTS

# %% [markdown]
# BEGIN SOLUTION
# The answer is SECRET-MARKDOWN.
# END SOLUTION

# %% [raw]
# ### Begin Solution
# SECRET-RAW
# ### End Solution

# %% solution
e = "SECRET-TITLE"

# %% solution=true
f = "SECRET-OPTION"

# %% workshopkit={"solution": "yes"}
g = "SECRET-STRING-FLAG"

# %% workshopkit={"Solution": true}
h = "SECRET-KEY-CASE"

# %% [markdown] tags=["solution"]
# Near misses in a cell learners never see are not reported: BEGIN SOLUTIONS
