"""Plans (抽查计划), their publication with a commitment, adjustments and draws."""
