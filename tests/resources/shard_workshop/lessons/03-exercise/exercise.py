# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: exercise
#     title: Exercise
#     level: intermediate
#     minutes: 10
# ---

# %% [markdown]
# # Exercise
# Write `double`.

# %% tags=["exercise"]
def double(x):
    # BEGIN SOLUTION
    return 2 * x
    # END SOLUTION

# %%
print(double(21))
