"""WHERE RESULTS LAND: the warehouse file of views and exports to users' paths, both after publishing."""
