# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: Line ends
#     level: beginner
#     minutes: 10
#     tags: [windows]
# ---

# %% [markdown]
# # Line ends

# %% tags=["parameters"]
n = 3


# %%
print("\n".join(str(i) for i in range(n)))
