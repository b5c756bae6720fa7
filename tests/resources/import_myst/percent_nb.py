# %% [markdown]
# # A percent notebook
#
# Written in VS Code.

# %% tags=["setup"]
print("hi")
