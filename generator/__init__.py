"""Generator of environment-agnostic CloudFormation nested stacks for ECS Fargate apps."""
