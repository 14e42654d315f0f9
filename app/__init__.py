"""spotcheck: 双随机、一公开 spot checks of medical-insurance fund use."""
