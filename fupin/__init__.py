"""Fupin (扶贫): the information platform for targeted poverty alleviation."""
