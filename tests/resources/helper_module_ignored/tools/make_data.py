# %%
print('generate data')
