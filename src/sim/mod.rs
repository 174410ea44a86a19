//! AWS in a box on 127.0.0.1: EC2, SSM and CloudWatch Logs over their real wire protocols.
