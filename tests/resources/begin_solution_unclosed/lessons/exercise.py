# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: Exercise
#     level: beginner
#     minutes: 10
# ---

# %% [markdown]
# # Exercise

# %% tags=["exercise"]
def mean(values):
    # BEGIN SOLUTION
    return sum(values) / len(values)


# %% tags=["exercise"]
def total(values):
    # END SOLUTION
    return sum(values)


# %% tags=["exercise"]
def double(x):
    # BEGIN SOLUTION
    # BEGIN SOLUTION
    return 2 * x
    # END SOLUTION
