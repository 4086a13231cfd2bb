SELECT consentry_rebuild.create_shadow($1::regclass, $2)
