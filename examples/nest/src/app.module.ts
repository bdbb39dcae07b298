import { Module } from '@nestjs/common';
import { createTessera, generateKey, generateRefreshKey } from '@tessera/auth';
import { TesseraModule } from '@tessera/auth/nest';
import { memoryStore } from '@tessera/auth/stores/memory';
import { AuthController } from './auth.controller';
import { findUser } from './users';

@Module({
  imports: [
    TesseraModule.forRootAsync({
      useFactory: async () => ({
        auth: createTessera({
          keys: await generateKey('EdDSA'),
          refreshKey: await generateRefreshKey(),
          sessions: { store: memoryStore() },
        }),
        lookupUser: (claims) => findUser(claims.sub),
      }),
    }),
  ],
  controllers: [AuthController],
})
export class AppModule {}
