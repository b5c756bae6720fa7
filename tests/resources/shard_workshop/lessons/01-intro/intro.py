# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: intro
#     title: Intro
#     level: beginner
#     minutes: 10
# ---

# %% [markdown]
# # Intro
# Sums and strings.

# %%
total = sum(range(10))
print("total", total)

# %%
", ".join(str(n) for n in range(5))
