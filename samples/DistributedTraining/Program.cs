using System;
using DistributedTraining;

// Data-parallel training with synchronized batch norm: every replica trains on its own shard of each mini-batch.
//   over MPI:      mpiexec.mpich -n 2 dotnet samples/DistributedTraining/bin/Release/net10.0/DistributedTraining.dll
//   on threads:    dotnet run -c Release --project samples/DistributedTraining -- --threads 4
//   options:       dotnet run -c Release --project samples/DistributedTraining -- --help
return DistributedCommand.Run(args, Console.Out, Console.Error);
